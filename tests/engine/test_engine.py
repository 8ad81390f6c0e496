"""The durable operation engine: claims, per-instance order, rescheduling, failures,
recovery of stale claims, the worker thread, and serialised concurrent commands."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from aiiro.config import Settings
from aiiro.domain import instances
from aiiro.domain.lifecycle import Command
from aiiro.engine import operations as ops
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime
from aiiro.store.models import Instance, KeyValue, Operation
from tests.api.instance_helpers import advance, create_id, register_key, shown, use_profile
from tests.conftest import Account

CALLS: list[tuple[str, int, dict[str, object]]] = []


def _note(job: ops.Job) -> None:
    CALLS.append(("note", job.op.id, dict(job.payload)))
    n = int(job.payload.get("n", 0))
    if n < int(job.payload.get("times", 1)) - 1:
        job.again_in(float(job.payload.get("every", 0)), n=n + 1)


def _boom(job: ops.Job) -> None:
    CALLS.append(("boom", job.op.id, dict(job.payload)))
    raise RuntimeError("driver said no")


def _boom_unsettled(job: ops.Job) -> None:
    raise RuntimeError("driver said no")


def _settle_badly(job: ops.Job) -> None:
    job.s.add(KeyValue(key="half-settled", value="1"))
    job.s.flush()
    raise RuntimeError("settling failed too")


HANDLERS: dict[str, ops.Handler] = {
    "test_note": _note,
    "test_boom": _boom,
    "test_boom_unsettled": _boom_unsettled,
}


@pytest.fixture(autouse=True)
def engine(app: Any) -> Engine:
    """The app's engine, with this module's handlers beside the domain's."""
    base: Engine = app.state.engine
    work = replace(
        base.work,
        handlers={**base.work.handlers, **HANDLERS},
        give_up={**base.work.give_up, "test_boom_unsettled": _settle_badly},
    )
    app.state.engine = Engine(base.rt, base.driver, work)
    return app.state.engine


def run(engine: Engine, worker: str, op_id: int) -> bool:
    return ops.run_claimed(
        engine.rt, engine.driver, engine.work.handlers, engine.work.give_up, worker, op_id
    )


@pytest.fixture(autouse=True)
def _clear_calls() -> Iterator[None]:
    CALLS.clear()
    yield
    CALLS.clear()


def add(rt: Runtime, kind: str, delay_s: float = 0.0, instance_id: int | None = None,
        **payload: object) -> int:  # fmt: skip
    with rt.db.write() as s:
        op_id: int = ops.enqueue(
            rt, s, kind, instance_id=instance_id, payload=payload, delay_s=delay_s
        ).id
    return op_id


def op_row(rt: Runtime, op_id: int) -> Operation:
    with rt.db.read() as s:
        row = s.get(Operation, op_id)
        assert row is not None
        return row


def test_operations_wait_for_the_server_clock(rt: Runtime, engine: Engine) -> None:
    now_id = add(rt, "test_note")
    later_id = add(rt, "test_note", delay_s=60)
    assert engine.run_due() == 1
    assert op_row(rt, now_id).state == "done" and op_row(rt, later_id).state == "pending"
    rt.clock.advance(61)
    assert engine.run_due() == 1
    assert op_row(rt, later_id).state == "done"
    assert engine.run_due() == 0


def test_a_handler_reschedules_itself_and_run_due_follows(rt: Runtime, engine: Engine) -> None:
    op_id = add(rt, "test_note", times=3, every=0)
    assert engine.run_due() == 3  # what falls due as a result runs in the same call
    assert [c[2].get("n", 0) for c in CALLS] == [0, 1, 2]
    row = op_row(rt, op_id)
    assert row.state == "done" and json.loads(row.payload)["n"] == 2
    later = add(rt, "test_note", times=2, every=30)
    assert engine.run_due() == 1 and op_row(rt, later).state == "pending"
    rt.clock.advance(30)
    assert engine.run_due() == 1 and op_row(rt, later).state == "done"


def test_one_operation_at_a_time_per_instance(rt: Runtime, alice: Account, engine: Engine) -> None:
    iid = create_id(alice, register_key(alice))
    a = add(rt, "test_note", instance_id=iid)
    b = add(rt, "test_note", instance_id=iid)
    c = add(rt, "test_note")
    with rt.db.write() as s:
        claimed = ops.claim_due(rt, s, "w1")
    assert sorted(claimed) == sorted([a, c])  # b waits for a
    with rt.db.write() as s:
        assert ops.claim_due(rt, s, "w2") == []  # a still running
    assert run(engine, "w1", a)
    with rt.db.write() as s:
        assert ops.claim_due(rt, s, "w2") == [b]
    # A claim is a compare-and-set: nobody else can run b now.
    assert not run(engine, "w1", b)
    assert run(engine, "w2", b)


def test_failures_are_retried_then_given_up(
    rt: Runtime, caplog: pytest.LogCaptureFixture, engine: Engine
) -> None:
    rt.settings.operation_max_attempts = 3
    op_id = add(rt, "test_boom")
    with caplog.at_level("DEBUG", logger="aiiro.engine"):
        for attempt, wait in ((1, 2), (2, 4), (3, None)):
            engine.run_due()
            row = op_row(rt, op_id)
            assert row.attempts == attempt and row.error == "RuntimeError: driver said no"
            if wait is not None:
                assert row.state == "pending"
                rt.clock.advance(wait - 1)
                assert engine.run_due() == 0  # backing off: not due yet
                rt.clock.advance(1)
    assert op_row(rt, op_id).state == "failed"
    assert len(CALLS) == 3
    rt.clock.advance(3600)
    assert engine.run_due() == 0 and len(CALLS) == 3  # given up for good
    said = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= 30]
    assert said == [
        ("WARNING", f"operation {op_id} (test_boom) failed, attempt 1 of 3, again in 2 s: "
                    "RuntimeError: driver said no"),
        ("WARNING", f"operation {op_id} (test_boom) failed, attempt 2 of 3, again in 4 s: "
                    "RuntimeError: driver said no"),
        ("ERROR", f"operation {op_id} (test_boom) gave up after 3 attempts: "
                  "RuntimeError: driver said no"),
    ]  # fmt: skip
    # The tracebacks are there for whoever asks (debug), not in every line of the log.
    assert all(r.exc_info is None for r in caplog.records if r.levelno >= 30)
    assert sum(1 for r in caplog.records if r.exc_info) == 3


def test_a_settle_that_fails_still_ends_the_operation(rt: Runtime, engine: Engine) -> None:
    rt.settings.operation_max_attempts = 1
    op_id = add(rt, "test_boom_unsettled")
    engine.run_due()
    row = op_row(rt, op_id)
    assert (row.state, row.error) == ("failed", "RuntimeError: driver said no")
    with rt.db.read() as s:
        assert s.get(KeyValue, "half-settled") is None  # its changes were rolled back
    rt.clock.advance(3600)
    assert engine.run_due() == 0


def test_the_number_of_attempts_is_at_least_one() -> None:
    with pytest.raises(ValidationError):
        Settings(operation_max_attempts=0)
    assert Settings().operation_max_attempts == 5


def test_unknown_kind_fails_without_retry(rt: Runtime, engine: Engine) -> None:
    op_id = add(rt, "no_such_kind")
    engine.run_due()
    assert op_row(rt, op_id).state == "failed"


def _claim_as(rt: Runtime, op_id: int, claimed_by: str, lease_s: float | None) -> None:
    """`op_id` claimed by `claimed_by`, its lease running out `lease_s` from now (None:
    a claim made before leases existed)."""
    with rt.db.write() as s:
        row = s.get(Operation, op_id)
        assert row is not None
        row.state, row.claimed_by = "running", claimed_by
        row.claimed_at = rt.clock.now()
        row.lease_until = None if lease_s is None else time.time() + lease_s
        row.attempts = 1


def test_claims_are_taken_back_when_their_lease_runs_out(rt: Runtime, engine: Engine) -> None:
    expired = add(rt, "test_note")
    leased = add(rt, "test_note")
    unleased = add(rt, "test_note")
    _claim_as(rt, expired, "host-a:1:1", lease_s=-1.0)  # its worker died a while ago
    _claim_as(rt, leased, "host-b:2:2", lease_s=60.0)  # its worker is alive
    _claim_as(rt, unleased, "host-c:3:3", lease_s=None)
    engine = Engine(rt, engine.driver, engine.work)
    assert engine.recover() == 2
    assert engine.run_due() == 2
    assert op_row(rt, expired).state == "done" and op_row(rt, expired).attempts == 2
    assert op_row(rt, unleased).state == "done"
    assert op_row(rt, leased).state == "running" and op_row(rt, leased).claimed_by == "host-b:2:2"
    rt.clock.advance(3600)  # the server clock moving on never ends a lease: wall time does
    assert engine.recover() == 0 and op_row(rt, leased).state == "running"


def test_a_live_worker_renews_its_leases_and_hands_back_its_claims(
    rt: Runtime, engine: Engine
) -> None:
    op_id = add(rt, "test_note")
    with rt.db.write() as s:
        assert ops.claim_due(rt, s, "me") == [op_id]
    first = op_row(rt, op_id).lease_until
    assert first is not None and first == pytest.approx(time.time() + 30, abs=5)
    time.sleep(0.01)
    with rt.db.write() as s:
        assert ops.renew(rt, s, "me") == 1 and ops.renew(rt, s, "someone else") == 0
    renewed = op_row(rt, op_id).lease_until
    assert renewed is not None and renewed > first
    with rt.db.write() as s:
        assert ops.release(s, "me") == 1
    row = op_row(rt, op_id)
    assert (row.state, row.claimed_by, row.lease_until, row.attempts) == ("pending", None, None, 0)
    assert engine.run_due() == 1 and op_row(rt, op_id).state == "done"


def test_a_claim_taken_back_is_not_applied_by_its_old_owner(rt: Runtime, engine: Engine) -> None:
    op_id = add(rt, "test_note")
    with rt.db.write() as s:
        assert ops.claim_due(rt, s, "old") == [op_id]
    with rt.db.write() as s:
        s.get(Operation, op_id).claimed_by = "new"  # type: ignore[union-attr]
    assert not run(engine, "old", op_id)
    assert CALLS == [] and op_row(rt, op_id).state == "running"


def test_the_worker_thread_runs_what_is_added(rt: Runtime, alice: Account, engine: Engine) -> None:
    engine = Engine(rt, engine.driver, engine.work)
    engine.start()
    try:
        assert engine.threaded
        op_id = add(rt, "test_note")
        engine.kick()
        deadline = time.monotonic() + 10
        while op_row(rt, op_id).state != "done" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert op_row(rt, op_id).state == "done"
    finally:
        engine.stop()
    assert not engine.threaded


def test_operations_are_rows_until_done(rt: Runtime, alice: Account, engine: Engine) -> None:
    t = use_profile(engine, "fast")
    iid = create_id(alice, register_key(alice))
    with rt.db.read() as s:
        rows = list(s.scalars(select(Operation).where(Operation.instance_id == iid)))
    assert [(r.kind, r.state) for r in rows] == [("provision", "pending")]
    advance(rt, t.install_s)
    assert shown(alice, iid) == "Stopped"
    with rt.db.read() as s:
        rows = list(s.scalars(select(Operation).where(Operation.instance_id == iid)))
    assert [(r.kind, r.state) for r in rows] == [("provision", "done")]


def test_a_profile_switch_retimes_waiting_operations(
    rt: Runtime, alice: Account, engine: Engine
) -> None:
    use_profile(engine, "faithful")
    iid = create_id(alice, register_key(alice))
    advance(rt, 5)
    assert shown(alice, iid) == "OS installation In Progress"
    use_profile(engine, "instant")
    assert shown(alice, iid) == "Stopped"


def test_two_simultaneous_starts_one_wins(rt: Runtime, alice: Account, engine: Engine) -> None:
    iid = create_id(alice, register_key(alice))
    for _ in range(3):
        barrier = threading.Barrier(2)
        results: list[str] = []

        def start(barrier: threading.Barrier = barrier, results: list[str] = results) -> None:
            barrier.wait()
            try:
                engine.apply(lambda s: instances.command(rt, s, alice.id, iid, Command.START))
                results.append("I20008")
            except Exception as exc:  # the refusal, an IndigoError
                results.append(getattr(exc, "code", repr(exc)))

        threads = [threading.Thread(target=start) for _ in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(results) == ["I10016", "I20008"]
        engine.run_due()
        engine.apply(lambda s: instances.command(rt, s, alice.id, iid, Command.FORCESTOP))
        engine.run_due()
        with rt.db.read() as s:
            inst = s.get(Instance, iid)
            assert inst is not None and inst.power == "stopped"


IN_FLIGHT: set[int] = set()
OVERLAPS: list[int] = []
RUNS: list[int] = []
_flight_lock = threading.Lock()


def _exclusive(job: ops.Job) -> None:
    iid = job.op.instance_id or 0
    with _flight_lock:
        if iid in IN_FLIGHT:
            OVERLAPS.append(iid)
        IN_FLIGHT.add(iid)
        RUNS.append(job.op.id)
    time.sleep(0.002)  # widen the window in which a second run could overlap
    with _flight_lock:
        IN_FLIGHT.discard(iid)


HANDLERS["test_exclusive"] = _exclusive


def test_concurrent_workers_run_each_operation_once(
    rt: Runtime, alice: Account, engine: Engine
) -> None:
    key = register_key(alice)
    ids = [create_id(alice, key, f"i{n}") for n in range(5)]
    wanted = [add(rt, "test_exclusive", instance_id=ids[n % 5]) for n in range(40)]
    RUNS.clear()
    OVERLAPS.clear()
    workers = [Engine(rt, engine.driver, engine.work) for _ in range(3)]
    threads = [threading.Thread(target=w.run_due) for w in workers]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(RUNS) == sorted(wanted)  # every one, once
    assert OVERLAPS == []  # never two at a time for one instance


def _drives(job: ops.Job) -> None:
    """A handler whose driver call writes from another thread, as another request would
    while a slow driver works: it gets the store at once only if no transaction of the
    handler's is open across the call."""
    inst = job.instance()
    assert inst is not None
    inst.progress = 7  # a change of the handler's own, before the call

    def slow_driver_call() -> str:
        outcome: list[str] = []

        def other_request() -> None:
            try:
                with job.rt.db.write() as s:
                    s.merge(KeyValue(key="written-during-the-call", value="yes"))
                outcome.append("written")
            except Exception as exc:
                outcome.append(type(exc).__name__)

        writer = threading.Thread(target=other_request)
        writer.start()
        writer.join(timeout=10)
        return outcome[0] if outcome else "still waiting"

    job.payload["during"] = job.drive(slow_driver_call)


HANDLERS["test_drives"] = _drives


def test_no_transaction_is_open_across_a_driver_call(
    rt: Runtime, alice: Account, engine: Engine
) -> None:
    iid = create_id(alice, register_key(alice))
    op_id = add(rt, "test_drives", instance_id=iid)
    engine.run_due()
    row = op_row(rt, op_id)
    assert row.state == "done" and json.loads(row.payload)["during"] == "written"
    with rt.db.read() as s:
        assert s.get(KeyValue, "written-during-the-call") is not None
        inst = s.get(Instance, iid)
        assert inst is not None and inst.progress == 7  # committed before the call, kept


COMMAND_AFTER_THE_CALL: dict[str, threading.Thread] = {}


def _settles_after_a_call(job: ops.Job) -> None:
    """After its driver call, a handler settles the instance while a command for it comes
    in from another thread (as a request would): the command must wait for the run and
    then apply, never be overwritten by it."""
    inst = job.instance()
    assert inst is not None
    job.drive(lambda: None)

    def command() -> None:
        with job.rt.db.write() as s:
            row = s.get(Instance, inst.id, with_for_update=True)
            assert row is not None
            row.power, row.version = "destroying", row.version + 1

    COMMAND_AFTER_THE_CALL["thread"] = thread = threading.Thread(target=command)
    thread.start()
    thread.join(0.5)  # it committed by now, unless the run holds the instance
    inst.power = "running" if inst.power != "running" else "stopped"


HANDLERS["test_settles_after_a_call"] = _settles_after_a_call


def test_a_command_during_a_run_is_applied_after_it_not_lost(
    rt: Runtime, alice: Account, engine: Engine
) -> None:
    iid = create_id(alice, register_key(alice))
    op_id = add(rt, "test_settles_after_a_call", instance_id=iid)
    engine.run_due()
    COMMAND_AFTER_THE_CALL.pop("thread").join(10)
    assert op_row(rt, op_id).state == "done"
    with rt.db.read() as s:
        inst = s.get(Instance, iid)
        assert inst is not None and inst.power == "destroying"  # the command's, applied last
