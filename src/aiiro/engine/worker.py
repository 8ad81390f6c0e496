"""The engine: runs due operations, in one of three ways (`Engine.mode`):

- "thread" (the default of `aiiro serve`, and `aiiro worker`): a thread per process wakes
  when an operation is added here (`kick`), when the earliest pending one falls due, when
  another process commits a change (PostgreSQL NOTIFY; on SQLite the store's data version
  is looked at every POLL_S), and at least every IDLE_S. A heartbeat thread renews the
  leases of its claims and takes back those of dead workers. Several processes (API
  processes, workers, hosts) may run engines on one database: claims decide who runs what.
- "inline" (tests; `worker = false`): no thread; `kick` and `settle` run whatever is due
  before the API answers, so a test in the `instant` profile sees each command finished.
- "remote" (`aiiro serve --no-engine`; `engine = false`): this process runs nothing;
  `aiiro worker` processes do. Advancing the clock waits for them to run what fell due.

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
POLL_S = 0.05  # SQLite: how often an idle engine looks at the store's data version
DRAIN_S = 60.0  # remote mode: the longest a clock advance waits for the workers
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
        self._heart: threading.Thread | None = None
        self._reconcile_after = 0  # where the next reconciliation pass starts (an id)
        self._writers: CapacityLimiter | None = None  # made on first use, in the event loop

    # -- the contract used by the API and the emulator controls ---------------------------
    @property
    def mode(self) -> str:
        if not self.rt.settings.engine:
            return "remote"
        return "thread" if self._thread is not None and self._thread.is_alive() else "inline"

    @property
    def threaded(self) -> bool:
        return self.mode == "thread"

    def run_due(self) -> int:
        """Run every operation due on the server clock, including those that fall due
        as a result; return how many runs there were. One pass at a time per process: a
        caller (the clock control, say) waits for the worker thread's pass to end, so
        what it sees afterwards includes everything that was due. In remote mode: wait
        for the workers to do it; return how many operations finished meanwhile."""
        if self.mode == "remote":
            return self._drain()
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

    def _drain(self) -> int:
        """Remote mode: wait until no operation is due or running (the workers took the
        change's notice), DRAIN_S at most; how many finished meanwhile."""
        import time

        from sqlalchemy import func, select

        from aiiro.store.models import Operation

        def finished() -> int:
            with self.rt.db.read() as s:
                return int(
                    s.scalar(
                        select(func.count()).where(Operation.state.in_((ops.DONE, ops.FAILED)))
                    )
                    or 0
                )

        before = finished()
        deadline = time.monotonic() + DRAIN_S
        while time.monotonic() < deadline:
            with self.rt.db.read() as s:
                if not ops.any_due(self.rt, s) and not ops.any_running(s):
                    break
            time.sleep(POLL_S)
        else:
            log.warning("no worker ran the due operations within %g s", DRAIN_S)
        return finished() - before

    def kick(self) -> None:
        """New operations were committed: wake the worker, or run them now without one
        (remote mode: the workers hear of the commit from the store)."""
        mode = self.mode
        if mode == "thread":
            self._wake.set()
        elif mode == "inline":
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
        """Before answering: inline, run what has fallen due (the clock may have moved);
        with a thread or remote workers, nothing to do."""
        if self.mode == "inline":
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
        """Take back the claims whose leases ran out (their workers are gone)."""
        with self.rt.db.write() as s:
            taken = ops.take_back_expired(s)
        self._recovered = True
        return taken

    # -- the worker thread --------------------------------------------------------------
    def start(self) -> None:
        """Run the engine's threads (not in remote mode: workers elsewhere run it)."""
        if not self.rt.settings.engine or self.threaded:
            return
        self._stop.clear()
        self.rt.db.on_change(self._wake.set)
        self._thread = threading.Thread(target=self._loop, name="aiiro-engine", daemon=True)
        self._heart = threading.Thread(target=self._beat, name="aiiro-lease", daemon=True)
        self._thread.start()
        self._heart.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the threads; hand back the claims not run (another worker takes them at
        once), unless a run is still in flight (its lease then runs out)."""
        self._stop.set()
        self._wake.set()
        threads = [t for t in (self._thread, self._heart) if t is not None]
        for thread in threads:
            thread.join(timeout)
        self._thread = self._heart = None
        if not threads or any(thread.is_alive() for thread in threads):
            return
        try:
            with self.rt.db.write() as s:
                handed = ops.release(s, self.worker_id)
            if handed:
                log.info("handed back %d claimed operations", handed)
        except Exception:
            log.exception("handing back claims")

    def _beat(self) -> None:
        """The heartbeat, in a thread of its own so that a long driver call in the loop
        never lets this worker's leases run out: renew them, take back dead workers'."""
        every = self.rt.settings.operation_lease_s / 3
        while not self._stop.wait(every):
            try:
                with self.rt.db.write(quiet=True) as s:
                    ops.renew(self.rt, s, self.worker_id)
                if self.recover():
                    self._wake.set()
            except Exception:
                log.exception("renewing leases")

    def _idle(self, wait: float) -> None:
        """Wait up to `wait` s for a kick, a notice of a change (PostgreSQL), or, on
        SQLite, a moved data version."""
        if self.rt.db.is_sqlite:
            import time

            seen = self.rt.db.version()
            deadline = time.monotonic() + wait
            while not self._wake.is_set():
                left = deadline - time.monotonic()
                if left <= 0 or self._wake.wait(min(POLL_S, left)):
                    return
                if self.rt.db.version() != seen:
                    return
        else:
            self._wake.wait(wait)

    def _loop(self) -> None:
        import time

        last_sweep = float("-inf")  # the first sweep right away (a host may have rebooted)
        while not self._stop.is_set():
            self._wake.clear()
            wait = IDLE_S
            try:
                self.rt.sync()  # the clock, the profile: as any process last set them
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
            self._idle(wait)
