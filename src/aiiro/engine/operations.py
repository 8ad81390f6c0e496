"""Durable operations: work that takes time, kept as rows until it is done.

An API call that starts something long (install, stop, destroy, snapshot...) changes the
resource and adds an `operations` row in the same transaction, then answers. The engine
(engine/worker.py) runs each row when it falls due on the server clock:

1. claim: `pending` -> `running` with a compare-and-set (`WHERE state = 'pending'`; on
   PostgreSQL the candidates are read `FOR UPDATE SKIP LOCKED`, so workers on several
   machines never claim one row twice), at most one running operation per instance,
   with a lease (`lease_until`, wall-clock time), committed at once;
2. run: a write transaction that locks the operation and its instance, calls the handler
   for the operation's kind (which calls the compute driver and changes the rows), and
   marks the operation `done`, or `pending` again at a later time when the handler asks
   to be called back (polling a long driver action). No transaction spans a driver call
   (`Job.drive`): the transaction commits before it and a new one begins after it, which
   locks the operation again and goes on only if it is still this worker's and neither
   it nor its instance changed meanwhile; otherwise the run ends (`Superseded`);
3. while the worker lives it renews the leases of its claims (Engine's heartbeat); when
   it stops it hands them back. A worker killed between 1 and 2, or cut off from the
   store, leaves its claims `running` until their leases run out; then any worker takes
   them back (`take_back_expired`) and runs them again. Driver calls are idempotent, and
   the changes of a run are committed together with its `done`, so nothing is lost and
   nothing is applied twice;
4. a run that raises is rolled back and tried again 2, 4, 8... s later, up to
   `settings.operation_max_attempts` runs; then the operation is `failed` with its reason
   (one ERROR line in the log), and the kind's give-up function settles its resource, in
   the same transaction.

Handlers are plain functions that receive a `Job`; the tables of them (kind -> handler,
kind -> give-up) are handed to the Engine by the composition root (serve.py).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from aiiro.runtime import Runtime
from aiiro.store.db import is_busy
from aiiro.store.models import Instance, Operation

if TYPE_CHECKING:
    from aiiro.compute.driver import ComputeDriver

log = logging.getLogger("aiiro.engine")
P = ParamSpec("P")
T = TypeVar("T")

PENDING = "pending"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"

ERROR_CHARS = 2000  # of a reason kept in the operation's row
LINE_CHARS = 500  # of a reason in the log


class Conflict(Exception):
    """A change lost a compare-and-set to a concurrent one: decide again, in a new
    transaction (Engine.apply does, a few times). `give_up()` is what to raise when it
    keeps losing."""

    def give_up(self) -> Exception:
        return self


class Superseded(Exception):
    """While a driver call ran outside the transaction, the operation or its instance
    changed (a command, a reset): this run ends and the operation runs again at once."""


@dataclass
class Job:
    """One run of an operation, inside its write transaction (but for driver calls)."""

    rt: Runtime
    s: Session
    op: Operation
    driver: ComputeDriver
    payload: dict[str, Any]
    _again: datetime | None = field(default=None, init=False)
    _failure: str | None = field(default=None, init=False)
    _instance: Instance | None = field(default=None, init=False)

    @property
    def now(self) -> datetime:
        return self.rt.clock.now()

    def instance(self) -> Instance | None:
        """The operation's instance, locked for this transaction (None when gone)."""
        if self.op.instance_id is None:
            return None
        self._instance = self.s.get(Instance, self.op.instance_id, with_for_update=True)
        return self._instance

    def drive(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call the compute driver (`job.drive(job.driver.provision, spec)`) with no
        transaction open: what was done so far is committed, and the lock released, so a
        slow driver (a disk converted, a host far away) stops no one. Then a new
        transaction; Superseded if the operation or the instance moved meanwhile."""
        version = self._instance.version if self._instance is not None else None
        self.s.commit()
        try:
            return call(*args, **kwargs)
        finally:
            self._check_unmoved(version)

    def _check_unmoved(self, version: int | None) -> None:
        # Locked: a worker taking the claim back (its lease ran out meanwhile) waits for
        # this transaction, or this one sees that it did.
        op = self.s.execute(
            select(Operation.state, Operation.claimed_by)
            .where(Operation.id == self.op.id)
            .with_for_update()
        ).first()
        if op is None or op.state != RUNNING or op.claimed_by != self.op.claimed_by:
            raise Superseded()
        if self._instance is not None:
            # Locked again for the rest of the run: a command committing between this
            # check and the run's commit would be overwritten (PostgreSQL's row writes
            # are not serialised by one write lock, as SQLite's are).
            now = self.s.scalar(
                select(Instance.version).where(Instance.id == self._instance.id).with_for_update()
            )
            if now != version:
                raise Superseded()

    def again_in(self, seconds: float, **payload: Any) -> None:
        """Run this operation again after `seconds` (server clock), with `payload` merged."""
        self.payload.update(payload)
        self._again = self.now + timedelta(seconds=max(seconds, 0.0))

    def wait(self, since: float, expected_s: float, poll_s: float, step_s: float = 0.0) -> None:
        """Check again when a step begun at `since` (epoch s) should be over, then every
        `poll_s` while it is not: a sim is done on time, a real machine takes its time.
        `step_s` > 0 checks at least that often (progress to show)."""
        now = self.rt.clock.time()
        due = since + expected_s
        delay = due - now if due > now else poll_s
        if step_s > 0:
            delay = min(delay, step_s)
        self.again_in(max(delay, 0.0))

    def fail(self, reason: str) -> None:
        """End this operation as failed now, with `reason`, and no retry: the handler has
        settled its resource itself (the driver reported that the work failed)."""
        self._failure = reason

    @property
    def rescheduled(self) -> datetime | None:
        return self._again

    @property
    def failure(self) -> str | None:
        return self._failure


Handler = Callable[[Job], None]


def describe(op: Operation) -> str:
    """What the log says an operation is about: "provision, instance 3"."""
    parts = [op.kind]
    if op.instance_id is not None:
        parts.append(f"instance {op.instance_id}")
    if op.snapshot_id is not None:
        parts.append(f"snapshot {op.snapshot_id}")
    return ", ".join(parts)


def latest_failures(s: Session, instance_ids: list[int]) -> dict[int, Operation]:
    """The instances among these whose last finished operation (the last added: one
    instance's run in order) failed, with it: a failure the instance has not got past."""
    if not instance_ids:
        return {}
    latest = (
        select(func.max(Operation.id))
        .where(Operation.instance_id.in_(instance_ids), Operation.state.in_((DONE, FAILED)))
        .group_by(Operation.instance_id)
    )
    rows = s.scalars(select(Operation).where(Operation.id.in_(latest), Operation.state == FAILED))
    return {op.instance_id: op for op in rows if op.instance_id is not None}


# --- adding and cancelling -------------------------------------------------------------


def enqueue(
    rt: Runtime,
    s: Session,
    kind: str,
    *,
    instance_id: int | None = None,
    snapshot_id: int | None = None,
    payload: dict[str, Any] | None = None,
    delay_s: float = 0.0,
) -> Operation:
    """Add an operation, due `delay_s` from now, in the caller's transaction. After the
    transaction commits, the engine is kicked (Engine.change does it) so it runs at once."""
    now = rt.clock.now()
    op = Operation(
        kind=kind,
        instance_id=instance_id,
        snapshot_id=snapshot_id,
        payload=json.dumps(payload or {}),
        due_at=now + timedelta(seconds=delay_s),
        state=PENDING,
        attempts=0,
        created_at=now,
    )
    s.add(op)
    s.flush()
    return op


def cancel_pending(rt: Runtime, s: Session, instance_id: int, kinds: tuple[str, ...]) -> int:
    """Cancel the instance's pending operations of these kinds (a newer command wins)."""
    result = s.execute(
        update(Operation)
        .where(
            Operation.instance_id == instance_id,
            Operation.state == PENDING,
            Operation.kind.in_(kinds),
        )
        .values(state=CANCELLED, finished_at=rt.clock.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- claiming ------------------------------------------------------------------------


def worker_identity() -> str:
    """host:pid:start-ns. Unique per process even under an emulator seed (a restarted
    process must never mistake a dead one's claims for its own), hence not rt.rand."""
    return f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}"


def _is_postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def wall() -> float:
    """The time of leases: real time (not the server clock, which tests move by hours),
    comparable between hosts whose clocks are kept in sync."""
    return time.time()


def claim_due(rt: Runtime, s: Session, worker: str, limit: int = 50) -> list[int]:
    """Claim due operations (oldest first, one per instance) for `worker`, leased for
    `settings.operation_lease_s`."""
    now = rt.clock.now()
    lease = wall() + rt.settings.operation_lease_s
    q = (
        select(Operation.id, Operation.instance_id)
        .where(Operation.state == PENDING, Operation.due_at <= now)
        .order_by(Operation.due_at, Operation.id)
        .limit(limit)
    )
    if _is_postgres(s):
        q = q.with_for_update(skip_locked=True)
    rows = s.execute(q).all()
    if not rows:
        return []
    wanted = {iid for _, iid in rows if iid is not None}
    free = set(wanted)
    if wanted:
        lock = select(Instance.id).where(Instance.id.in_(wanted))
        if _is_postgres(s):
            # Another worker claiming for the same instance right now: leave it to them.
            free = set(s.scalars(lock.with_for_update(skip_locked=True)))
        busy = s.scalars(
            select(Operation.instance_id).where(
                Operation.state == RUNNING, Operation.instance_id.in_(wanted)
            )
        )
        free -= set(busy)
    claimed: list[int] = []
    for op_id, iid in rows:
        if iid is not None:
            if iid not in free:
                continue
            free.discard(iid)  # one at a time per instance, in due order
        result = s.execute(
            update(Operation)
            .where(Operation.id == op_id, Operation.state == PENDING)
            .values(
                state=RUNNING,
                claimed_by=worker,
                claimed_at=now,
                lease_until=lease,
                attempts=Operation.attempts + 1,
            )
        )
        if result.rowcount:  # type: ignore[attr-defined]
            claimed.append(op_id)
    return claimed


def any_due(rt: Runtime, s: Session) -> bool:
    return (
        s.scalar(
            select(Operation.id)
            .where(Operation.state == PENDING, Operation.due_at <= rt.clock.now())
            .limit(1)
        )
        is not None
    )


def any_running(s: Session) -> bool:
    return s.scalar(select(Operation.id).where(Operation.state == RUNNING).limit(1)) is not None


def next_due(s: Session) -> datetime | None:
    due: datetime | None = s.scalar(
        select(func.min(Operation.due_at)).where(Operation.state == PENDING)
    )
    return due


# --- running ---------------------------------------------------------------------------


def run_claimed(
    rt: Runtime,
    driver: ComputeDriver,
    handlers: Mapping[str, Handler],
    give_up: Mapping[str, Handler],
    worker: str,
    op_id: int,
) -> bool:
    """Run one claimed operation; True when it ran (done, failed or rescheduled)."""
    try:
        with rt.db.writer() as s:
            op = s.get(Operation, op_id, with_for_update=True)
            if op is None or op.state != RUNNING or op.claimed_by != worker:
                return False  # reset, or taken back from us
            fn = handlers.get(op.kind)
            if fn is None:
                op.state, op.error = FAILED, f"no handler for operation kind {op.kind!r}"
                op.finished_at = rt.clock.now()
                log.error("operation %s: %s", op.id, op.error)
                s.commit()
                return False
            job = Job(rt, s, op, driver, json.loads(op.payload or "{}"))
            fn(job)
            op.payload = json.dumps(job.payload)
            if job.failure is not None:
                op.state, op.finished_at = FAILED, rt.clock.now()
                op.error = job.failure[:ERROR_CHARS]
                _unclaim(op)
                log.warning("operation %s (%s) failed: %s", op.id, describe(op), _line(op.error))
            elif job.rescheduled is not None:
                op.state, op.due_at = PENDING, job.rescheduled
                _unclaim(op)
            else:
                op.state, op.finished_at = DONE, rt.clock.now()
                _unclaim(op)
            s.commit()
        return True
    except Superseded:
        _again_now(rt, worker, op_id)
        return True
    except Exception as exc:
        if is_busy(exc):
            # The store's lock, not the work, failed: no attempt spent. The claim is
            # handed back at once (or, if the store stays busy, when its lease runs out).
            log.warning("operation %s: the store is busy; it runs again later", op_id)
            try:
                _again_now(rt, worker, op_id)
            except Exception as again:
                if not is_busy(again):
                    raise
            return False
        _failed(rt, driver, give_up, worker, op_id, exc)
        return False


def _again_now(rt: Runtime, worker: str, op_id: int) -> None:
    """Hand a superseded run back: pending, due now, this run not counted as an attempt."""
    with rt.db.write() as s:
        s.execute(
            update(Operation)
            .where(
                Operation.id == op_id, Operation.state == RUNNING, Operation.claimed_by == worker
            )
            .values(
                state=PENDING,
                due_at=rt.clock.now(),
                attempts=Operation.attempts - 1,
                **UNCLAIMED,
            )
        )


def _failed(
    rt: Runtime,
    driver: ComputeDriver,
    give_up: Mapping[str, Handler],
    worker: str,
    op_id: int,
    exc: Exception,
) -> None:
    """A run raised (and was rolled back): try again later, or give up. One line in the
    log per run, not a traceback (that is at debug level)."""
    reason = f"{type(exc).__name__}: {exc}"
    log.debug("operation %s raised", op_id, exc_info=exc)
    with rt.db.write() as s:
        op = s.get(Operation, op_id, with_for_update=True)
        if op is None or op.state != RUNNING or op.claimed_by != worker:
            return
        op.error = reason[:ERROR_CHARS]
        _unclaim(op)
        limit = rt.settings.operation_max_attempts
        if op.attempts < limit:
            delay = 2**op.attempts
            op.state = PENDING
            op.due_at = rt.clock.now() + timedelta(seconds=delay)
            log.warning(
                "operation %s (%s) failed, attempt %d of %d, again in %d s: %s",
                op.id, describe(op), op.attempts, limit, delay, _line(reason),
            )  # fmt: skip
            return
        op.state, op.finished_at = FAILED, rt.clock.now()
        log.error(
            "operation %s (%s) gave up after %d attempts: %s",
            op.id, describe(op), op.attempts, _line(reason),
        )  # fmt: skip
        settle = give_up.get(op.kind)
        if settle is None:
            return
        try:
            with s.begin_nested():  # a settle that fails must not keep the operation running
                settle(Job(rt, s, op, driver, json.loads(op.payload or "{}")))
        except Exception:
            log.exception("operation %s (%s): could not settle after giving up", op.id, op.kind)


def _line(reason: str) -> str:
    """A reason on one log line (libvirt and QEMU messages may span several)."""
    return " ".join(reason.split())[:LINE_CHARS]


# --- leases --------------------------------------------------------------------------

UNCLAIMED: dict[str, Any] = {"claimed_by": None, "claimed_at": None, "lease_until": None}


def _unclaim(op: Operation) -> None:
    op.claimed_by = op.claimed_at = op.lease_until = None


def renew(rt: Runtime, s: Session, worker: str) -> int:
    """The heartbeat: `worker` is alive; its claims hold for another lease."""
    result = s.execute(
        update(Operation)
        .where(Operation.state == RUNNING, Operation.claimed_by == worker)
        .values(lease_until=wall() + rt.settings.operation_lease_s)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def release(s: Session, worker: str) -> int:
    """`worker` stops with claims it will not run: pending again, due as they were, the
    interrupted run not counted as an attempt."""
    result = s.execute(
        update(Operation)
        .where(Operation.state == RUNNING, Operation.claimed_by == worker)
        .values(state=PENDING, attempts=Operation.attempts - 1, **UNCLAIMED)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def take_back_expired(s: Session) -> int:
    """Claims whose lease ran out (their worker died, or lost the store): pending again,
    for any worker. A claim without a lease was made before leases existed."""
    expired = (Operation.lease_until < wall()) | Operation.lease_until.is_(None)
    q = select(Operation.id, Operation.claimed_by).where(Operation.state == RUNNING, expired)
    if _is_postgres(s):
        q = q.with_for_update(skip_locked=True)  # a run's transaction holds its row
    taken = 0
    for op_id, claimed_by in s.execute(q).all():
        result = s.execute(
            update(Operation)
            .where(Operation.id == op_id, Operation.state == RUNNING, expired)
            .values(state=PENDING, **UNCLAIMED)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            log.warning("operation %s: took it back from %s (its lease ran out)", op_id, claimed_by)
            taken += 1
    return taken
