"""The engine: runs due operations, in a worker thread or inline.

With `settings.worker` true (the default for `aiiro serve`) a thread per process wakes
when an operation is added here (`kick`), when the earliest pending one falls due, and
at least every IDLE_S to see operations added by other processes. Several processes
(API workers, hosts) may run engines on one database: claims decide who runs what.

Without a worker thread (tests; `worker = false`), `kick` and `settle` run whatever is due
before the API answers, so a test in the `instant` profile sees each command finished.

The thread also reconciles (domain/reconcile.py): every `reconcile_every()` seconds it
observes the settled instances through the driver, so a guest that powered itself off shows
Stopped. Tests call `reconcile()` directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from anyio import CapacityLimiter, to_thread
from sqlalchemy.orm import Session

from aiiro.compute.driver import ComputeDriver
from aiiro.engine import operations as ops
from aiiro.runtime import Runtime

log = logging.getLogger("aiiro.engine")
T = TypeVar("T")

IDLE_S = 0.5
RECOVER_EVERY_S = 30.0
MAX_RUN = 100_000  # a safety stop for run_due against a handler that never finishes
# Seconds between reconciliation sweeps for drivers with machines of their own. The sim's
# machines live in aiiro's own rows, so there is nothing to reconcile: off by default.
RECONCILE_DEFAULT_S = 10.0
# Tries of a change that keeps losing its compare-and-set to concurrent ones.
CONFLICT_ATTEMPTS = 5
# Threads for the API's writes (each waits for the store's one write lock in turn).
WRITER_THREADS = 16

Reconcile = Callable[["Runtime", ComputeDriver, int, int], tuple[Sequence[object], int]]


@dataclass(frozen=True)
class Work:
    """What the engine runs, handed to it by the composition root (serve.py): a handler
    per operation kind, what settles a resource when the engine gives up on a kind, and
    the reconciliation pass (domain/reconcile.py) with its batch size."""

    handlers: Mapping[str, ops.Handler]
    give_up: Mapping[str, ops.Handler]
    reconcile: Reconcile
    reconcile_batch: int


class Engine:
    def __init__(self, rt: Runtime, driver: ComputeDriver, work: Work) -> None:
        self.rt = rt
        self.driver = driver
        self.work = work
        self.worker_id = ops.worker_identity()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._recovered = False
        self._run_lock = threading.RLock()
        self._since_recover = 0.0
        self._reconcile_after = 0  # where the next reconciliation pass starts (an id)
        self._writers: CapacityLimiter | None = None  # made on first use, in the event loop

    # -- the contract used by the API and the emulator controls ---------------------------
    @property
    def threaded(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_due(self) -> int:
        """Run every operation due on the server clock, including those that fall due
        as a result; return how many runs there were. One pass at a time per process: a
        caller (the clock control, say) waits for the worker thread's pass to end, so
        what it sees afterwards includes everything that was due."""
        with self._run_lock:
            return self._run_due()

    def _run_due(self) -> int:
        if not self._recovered:
            self.recover()
        ran = 0
        while ran < MAX_RUN:
            with self.rt.db.read() as s:
                if not ops.any_due(self.rt, s):
                    break  # no write transaction (and no lock) while idle
            with self.rt.db.write() as s:
                claimed = ops.claim_due(self.rt, s, self.worker_id)
            if not claimed:
                break
            for op_id in claimed:
                if ops.run_claimed(
                    self.rt,
                    self.driver,
                    self.work.handlers,
                    self.work.give_up,
                    self.worker_id,
                    op_id,
                ):
                    ran += 1
        return ran

    def kick(self) -> None:
        """New operations were committed: wake the worker, or run them now without one."""
        if self.threaded:
            self._wake.set()
        else:
            self.run_due()

    # -- the unit of work of the API and the panel ------------------------------------------
    def apply(self, fn: Callable[[Session], T]) -> T:
        """Every write of the API and the panel: run what fell due first (so the change
        sees the current state), then `fn` in one write transaction, then, once it
        committed, the work it queued. `fn` is run again in a new transaction when it
        raises ops.Conflict (a concurrent change won), a few times. Blocking: the API
        calls it through `change`; the panel's pages run in worker threads already."""
        self.settle()
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                with self.rt.db.write() as s:
                    result = fn(s)
                break
            except ops.Conflict as conflict:
                if attempt == CONFLICT_ATTEMPTS - 1:
                    raise conflict.give_up() from conflict
        self.kick()
        return result

    async def change(self, fn: Callable[[Session], T]) -> T:
        """`apply` in a worker thread: waiting for the store's write lock (another
        process may hold it) never stalls the event loop, and every request with it.
        The API's writes have threads of their own, apart from those of the panel's
        pages (a burst of sign-ins never holds an API write up)."""
        if self._writers is None:
            self._writers = CapacityLimiter(WRITER_THREADS)
        return await to_thread.run_sync(self.apply, fn, limiter=self._writers)

    @contextmanager
    def view(self) -> Iterator[Session]:
        """A read of the current state: what fell due runs first (without a worker)."""
        self.settle()
        with self.rt.db.read() as s:
            yield s

    def settle(self) -> None:
        """Before answering: without a worker, run what has fallen due (the clock may
        have moved); with one, nothing to do."""
        if not self.threaded:
            self.run_due()

    def retime(self) -> None:
        """The timing profile changed: check every waiting operation again now (each
        reschedules itself by the new durations)."""
        from sqlalchemy import update

        from aiiro.store.models import Operation

        with self.rt.db.write() as s:
            s.execute(
                update(Operation)
                .where(Operation.state == ops.PENDING)
                .values(due_at=self.rt.clock.now())
            )
        self.kick()

    def reconcile(self, limit: int | None = None) -> int:
        """One reconciliation pass: observe up to `limit` settled instances (after those
        the previous pass saw) and move each to the power state the driver reports;
        returns how many changed. A driver error on one instance is logged and skipped."""
        changes, self._reconcile_after = self.work.reconcile(
            self.rt, self.driver, self._reconcile_after, limit or self.work.reconcile_batch
        )
        return len(changes)

    def reconcile_every(self) -> float:
        """Seconds between sweeps of the worker thread; 0: never."""
        every = self.rt.settings.reconcile_s
        if every is None:
            return 0.0 if self.driver.name == "sim" else RECONCILE_DEFAULT_S
        return max(every, 0.0)

    def recover(self) -> int:
        """Take back stale claims; this process's own too: no run of ours is in flight
        while the run lock is held (a run whose last write failed leaves its claim)."""
        with self._run_lock, self.rt.db.write() as s:
            taken = ops.recover_stale(self.rt, s)
        self._recovered = True
        return taken

    # -- the worker thread --------------------------------------------------------------
    def start(self) -> None:
        if self.threaded:
            return
        self.recover()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="aiiro-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def _loop(self) -> None:
        import time

        last_recover = time.monotonic()
        last_sweep = float("-inf")  # the first sweep right away (a host may have rebooted)
        while not self._stop.is_set():
            self._wake.clear()
            wait = IDLE_S
            try:
                if time.monotonic() - last_recover > RECOVER_EVERY_S:
                    self.recover()
                    last_recover = time.monotonic()
                self.run_due()
                with self.rt.db.read() as s:
                    due = ops.next_due(s)
                if due is not None:
                    wait = min(IDLE_S, max((due - self.rt.clock.now()).total_seconds(), 0.005))
            except Exception:
                log.exception("engine loop")
                wait = 1.0
            every = self.reconcile_every()
            # A sweep is done in bounded passes, one per turn of the loop (due operations
            # run in between); the next sweep begins `every` seconds after this one began.
            sweeping = self._reconcile_after != 0
            if every > 0 and (sweeping or time.monotonic() - last_sweep >= every):
                if not sweeping:
                    last_sweep = time.monotonic()
                try:
                    self.reconcile()
                except Exception:
                    log.exception("reconcile")
                    self._reconcile_after = 0
            self._wake.wait(wait)
