"""Commands taken faster than the engine carries them out (a busy worker thread): the
steps queue per instance, moot ones are cancelled, and the end state is the one the last
command answered — through the driver, not just in the table."""

from __future__ import annotations

import json

from sqlalchemy import select

from aiiro.compute.sim import guest_detail
from aiiro.domain import instances
from aiiro.domain.lifecycle import Command
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime
from aiiro.store.models import Instance, Operation
from tests.api.instance_helpers import create_id, register_key
from tests.conftest import Account


def cmd(rt: Runtime, acct: Account, iid: int, command: Command) -> None:
    """Take the command without running the engine (as when the worker is busy)."""
    with rt.db.write() as s:
        instances.command(rt, s, acct.id, iid, command)


def state(rt: Runtime, iid: int) -> tuple[str, dict[str, object]]:
    with rt.db.read() as s:
        inst = s.get(Instance, iid)
        assert inst is not None
        return inst.power, json.loads(inst.driver_state)


def pending(rt: Runtime, iid: int) -> list[str]:
    with rt.db.read() as s:
        return list(
            s.scalars(
                select(Operation.kind)
                .where(Operation.instance_id == iid, Operation.state == "pending")
                .order_by(Operation.id)
            )
        )


def running_instance(rt: Runtime, acct: Account, engine: Engine) -> int:
    iid = create_id(acct, register_key(acct))
    cmd(rt, acct, iid, Command.START)
    engine.run_due()
    assert state(rt, iid)[0] == "running"
    return iid


def test_forcestop_then_start_cures_a_hung_boot_even_when_queued(
    rt: Runtime, alice: Account, engine: Engine
) -> None:
    iid = create_id(alice, register_key(alice))
    with rt.db.write() as s:
        inst = s.get(Instance, iid)
        assert inst is not None
        st = json.loads(inst.driver_state)
        engine.driver.stick_next_boot(st)  # type: ignore[attr-defined]
        inst.driver_state = json.dumps(st)
    cmd(rt, alice, iid, Command.START)
    engine.run_due()
    assert guest_detail(rt, state(rt, iid)[1]) == "grub"
    cmd(rt, alice, iid, Command.FORCESTOP)
    cmd(rt, alice, iid, Command.START)  # before the forcestop has run
    assert pending(rt, iid) == ["forcestop", "start"]  # the start waits its turn
    engine.run_due()
    power, st = state(rt, iid)
    assert power == "running" and guest_detail(rt, st) == "up"


def test_stop_replaces_a_start_not_yet_carried_out(
    rt: Runtime, alice: Account, engine: Engine
) -> None:
    iid = create_id(alice, register_key(alice))
    boots = state(rt, iid)[1]["boots"]
    cmd(rt, alice, iid, Command.START)
    cmd(rt, alice, iid, Command.STOP)
    assert pending(rt, iid) == ["stop"]
    engine.run_due()
    power, st = state(rt, iid)
    assert power == "stopped" and st["boots"] == boots  # never booted


def test_stop_replaces_a_reset(rt: Runtime, alice: Account, engine: Engine) -> None:
    iid = running_instance(rt, alice, engine)
    cmd(rt, alice, iid, Command.RESET)
    cmd(rt, alice, iid, Command.STOP)
    assert pending(rt, iid) == ["stop"]
    engine.run_due()
    assert state(rt, iid)[0] == "stopped"


def test_destroy_queued_behind_a_forcestop(rt: Runtime, alice: Account, engine: Engine) -> None:
    iid = running_instance(rt, alice, engine)
    cmd(rt, alice, iid, Command.FORCESTOP)
    cmd(rt, alice, iid, Command.DESTROY)
    assert pending(rt, iid) == ["forcestop", "destroy"]
    engine.run_due()
    with rt.db.read() as s:
        inst = s.get(Instance, iid)
        assert inst is not None and inst.removed_at is not None
    assert state(rt, iid)[1]["power"] == "absent"


def test_a_newer_forcestop_replaces_what_waits(rt: Runtime, alice: Account, engine: Engine) -> None:
    iid = running_instance(rt, alice, engine)
    cmd(rt, alice, iid, Command.STOP)
    cmd(rt, alice, iid, Command.FORCESTOP)
    assert pending(rt, iid) == ["forcestop"]  # the stop is moot
    cmd(rt, alice, iid, Command.START)
    cmd(rt, alice, iid, Command.FORCESTOP)  # cancels the start and the older forcestop
    assert pending(rt, iid) == ["forcestop"]
    engine.run_due()
    assert state(rt, iid)[0] == "stopped"
