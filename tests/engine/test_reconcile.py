"""Reconciliation: what the list shows follows what the driver observes (a guest that powered
itself off shows Stopped), without ever disturbing an operation or overriding a command.

The sim's machine is the driver state stored with the instance, so "behind aiiro's back" here
means changing that record without going through a command (no version bump, no operation).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from aiiro.compute.driver import HostUnreachable, InstanceSpec, Observation
from aiiro.compute.sim import SimDriver
from aiiro.engine import operations as ops
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime
from aiiro.store.models import Instance, Operation
from tests.api.instance_helpers import advance, command, create_id, listed, register_key, shown
from tests.conftest import Account


def behind_aiiros_back(rt: Runtime, iid: int, power: str) -> None:
    """The machine changes by itself: `poweroff` in the guest, a crash, `virsh start`."""
    with rt.db.write() as s:
        inst = s.get(Instance, iid)
        assert inst is not None
        st = json.loads(inst.driver_state)
        st["power"] = power
        st.pop("boot", None)
        if power == "running":
            st["boot"] = {"started": rt.clock.time(), "grub": False}
        inst.driver_state = json.dumps(st)


def running(alice: Account, name: str = "web") -> int:
    iid = create_id(alice, register_key(alice, f"k-{name}"), name)
    assert command(alice, iid, "start").status_code == 200
    assert shown(alice, iid) == "Running"
    return iid


class Hooked(SimDriver):
    """The sim, with something happening while an instance is being observed."""

    def __init__(self, rt: Runtime, during: Callable[[InstanceSpec], None]) -> None:
        super().__init__(rt)
        self.during = during

    def observe(self, spec: InstanceSpec) -> Observation:
        self.during(spec)
        return super().observe(spec)


@pytest.fixture
def swap_driver(rt: Runtime, engine: Engine) -> Iterator[Callable[[SimDriver], None]]:
    original = engine.driver

    def swap(driver: SimDriver) -> None:
        engine.driver = driver

    yield swap
    engine.driver = original


def test_a_guest_that_powers_itself_off_shows_stopped(
    rt: Runtime, alice: Account, engine: Engine
) -> None:
    iid = running(alice)
    behind_aiiros_back(rt, iid, "shutoff")
    assert shown(alice, iid) == "Running"  # nobody has looked yet
    assert engine.reconcile() == 1
    assert shown(alice, iid) == "Stopped"
    # The commands follow the new state: it is stopped, so it can be started again.
    assert command(alice, iid, "stop").json()["errorCode"] == "I10017"
    assert command(alice, iid, "start").json()["sucessCode"] == "I20008"
    assert shown(alice, iid) == "Running"
    assert engine.reconcile() == 0  # nothing differs: nothing is written


def test_a_machine_started_behind_aiiros_back_shows_running(
    rt: Runtime, alice: Account, engine: Engine
) -> None:
    iid = create_id(alice, register_key(alice))
    assert shown(alice, iid) == "Stopped"
    behind_aiiros_back(rt, iid, "running")
    assert engine.reconcile() == 1
    assert shown(alice, iid) == "Running"
    assert command(alice, iid, "destroy").json()["errorCode"] == "I10055"


def test_a_machine_gone_from_the_host_shows_stopped(
    rt: Runtime, alice: Account, engine: Engine
) -> None:
    iid = running(alice)
    behind_aiiros_back(rt, iid, "absent")
    assert engine.reconcile() == 1
    assert shown(alice, iid) == "Stopped"
    assert engine.reconcile() == 0  # stopped and absent: nothing to follow


def test_a_pending_operation_is_not_disturbed(rt: Runtime, alice: Account, engine: Engine) -> None:
    iid = running(alice)
    with rt.db.write() as s:
        op_id = ops.enqueue(rt, s, "apply_firewall", instance_id=iid, delay_s=60).id
    behind_aiiros_back(rt, iid, "shutoff")
    assert engine.reconcile() == 0
    assert shown(alice, iid) == "Running"
    with rt.db.read() as s:
        op = s.get(Operation, op_id)
        assert op is not None and op.state == "pending"
    advance(rt, 61)
    assert shown(alice, iid) == "Running"  # the operation ran; it says nothing of power
    with rt.db.read() as s:
        assert s.scalar(select(Operation.state).where(Operation.id == op_id)) == "done"
    assert engine.reconcile() == 1
    assert shown(alice, iid) == "Stopped"


def test_a_stop_that_timed_out_follows_the_guest(
    client: TestClient, admin_headers: dict[str, str], rt: Runtime, alice: Account, engine: Engine
) -> None:
    iid = running(alice)
    r = client.post(
        "/_aiiro/faults",
        json={"operation": "stop", "action": "stop_hangs", "count": 1},
        headers=admin_headers,
    )
    assert r.status_code in (200, 201), r.text
    assert command(alice, iid, "stop").json()["sucessCode"] == "I10025"
    advance(rt, 1800)
    assert shown(alice, iid) == "Running"
    assert engine.reconcile() == 0  # the guest still runs: it stays so
    behind_aiiros_back(rt, iid, "shutoff")  # ...and at last it shuts down
    assert engine.reconcile() == 1
    assert shown(alice, iid) == "Stopped"


def test_a_command_taken_during_the_pass_wins(
    rt: Runtime, alice: Account, swap_driver: Callable[[SimDriver], None], engine: Engine
) -> None:
    iid = create_id(alice, register_key(alice))
    behind_aiiros_back(rt, iid, "running")  # someone starts the machine on the host...
    destroyed: list[int] = []

    def destroy_meanwhile(spec: InstanceSpec) -> None:
        if not destroyed:  # ...while the user destroys the instance, which is stopped
            r = command(alice, iid, "destroy")
            destroyed.append(r.status_code)
            assert r.json()["sucessCode"] == "I20010", r.text

    swap_driver(Hooked(rt, destroy_meanwhile))
    assert engine.reconcile() == 0
    assert destroyed == [200]
    assert listed(alice, iid) is None  # destroyed and removed: not brought back as Running
    with rt.db.read() as s:
        inst = s.get(Instance, iid)
        assert inst is not None and inst.power == "destroying" and inst.removed_at is not None


def test_a_command_wins_then_the_next_pass_looks_again(
    rt: Runtime, alice: Account, swap_driver: Callable[[SimDriver], None], engine: Engine
) -> None:
    iid = running(alice)
    behind_aiiros_back(rt, iid, "shutoff")
    resets: list[int] = []

    def reset_meanwhile(spec: InstanceSpec) -> None:
        if not resets:
            resets.append(command(alice, iid, "reset").status_code)

    swap_driver(Hooked(rt, reset_meanwhile))
    assert engine.reconcile() == 0  # observed before the reset: not applied
    assert resets == [200] and shown(alice, iid) == "Running"  # what the reset answered
    assert engine.reconcile() == 1  # the machine really is off
    assert shown(alice, iid) == "Stopped"


def test_a_driver_error_skips_one_instance_only(
    rt: Runtime,
    alice: Account,
    swap_driver: Callable[[SimDriver], None],
    caplog: pytest.LogCaptureFixture,
    engine: Engine,
) -> None:
    bad, good = running(alice, "bad"), running(alice, "good")
    behind_aiiros_back(rt, bad, "shutoff")
    behind_aiiros_back(rt, good, "shutoff")

    def unreachable(spec: InstanceSpec) -> None:
        if spec.id == bad:
            raise ConnectionError("host unreachable")

    swap_driver(Hooked(rt, unreachable))
    with caplog.at_level(logging.INFO, logger="aiiro.engine"):
        assert engine.reconcile() == 1
    assert shown(alice, bad) == "Running" and shown(alice, good) == "Stopped"
    assert "1 of 2 instances could not be observed" in caplog.text
    assert f"instance {good}: the driver reports shutoff while it was running" in caplog.text


def test_an_instance_on_a_silent_host_stays_listed_marked_until_it_answers(
    rt: Runtime, alice: Account, swap_driver: Callable[[SimDriver], None], engine: Engine
) -> None:
    far, near = running(alice, "far"), running(alice, "near")
    silent = {"qemu+ssh://far/system"}

    def host_of(spec: InstanceSpec) -> None:
        if spec.id == far and silent:
            raise HostUnreachable("qemu+ssh://far/system", "no answer within 5 s")

    swap_driver(Hooked(rt, host_of))
    assert engine.reconcile() == 1  # the mark
    item = listed(alice, far)
    assert item is not None
    assert (item["instancestatus"], item["daemonstatus"]) == ("Running", "unreachable")
    assert listed(alice, near)["daemonstatus"] == ""  # type: ignore[index]
    assert engine.reconcile() == 0  # marked once: nothing more to write
    with rt.db.read() as s:
        inst = s.get(Instance, far)
        assert inst is not None and inst.unreachable_since is not None  # for the operator

    # Meanwhile the guest went down; the host answers again: mark gone, state followed.
    behind_aiiros_back(rt, far, "shutoff")
    silent.clear()
    assert engine.reconcile() == 1
    item = listed(alice, far)
    assert item is not None
    assert (item["instancestatus"], item["daemonstatus"]) == ("Stopped", "")


def test_an_instance_that_answers_again_unchanged_loses_its_mark(
    rt: Runtime, alice: Account, swap_driver: Callable[[SimDriver], None], engine: Engine
) -> None:
    iid = running(alice)
    silent = [True]

    def host_of(spec: InstanceSpec) -> None:
        if silent:
            raise HostUnreachable("qemu:///system", "the connection was lost")

    swap_driver(Hooked(rt, host_of))
    assert engine.reconcile() == 1
    assert listed(alice, iid)["daemonstatus"] == "unreachable"  # type: ignore[index]
    silent.clear()
    assert engine.reconcile() == 1
    item = listed(alice, iid)
    assert item is not None
    assert (item["instancestatus"], item["daemonstatus"]) == ("Running", "")


def test_passes_are_bounded_and_go_round(rt: Runtime, alice: Account, engine: Engine) -> None:
    ids = [running(alice, f"w{n}") for n in range(3)]
    for iid in ids:
        behind_aiiros_back(rt, iid, "shutoff")
    assert engine.reconcile(limit=2) == 2
    assert [shown(alice, i) for i in ids] == ["Stopped", "Stopped", "Running"]
    assert engine.reconcile(limit=2) == 1  # goes on after the last one seen
    assert shown(alice, ids[2]) == "Stopped"
    behind_aiiros_back(rt, ids[0], "running")
    assert engine.reconcile(limit=2) == 1  # then round again from the top
    assert shown(alice, ids[0]) == "Running"


def test_the_sim_needs_no_sweep_other_drivers_do(rt: Runtime, engine: Engine) -> None:
    assert engine.reconcile_every() == 0  # the sim's machines are aiiro's own rows

    class Other(SimDriver):
        name = "libvirt"

    assert Engine(rt, Other(rt), engine.work).reconcile_every() == 10.0
    rt.settings.reconcile_s = 0
    assert Engine(rt, Other(rt), engine.work).reconcile_every() == 0


def test_the_worker_thread_sweeps(rt: Runtime, alice: Account, engine: Engine) -> None:
    iid = running(alice)
    rt.settings.reconcile_s = 0.05
    behind_aiiros_back(rt, iid, "shutoff")
    engine = Engine(rt, engine.driver, engine.work)
    engine.start()
    try:
        deadline = time.monotonic() + 10
        while _power(rt, iid) != "stopped" and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        engine.stop()
    assert shown(alice, iid) == "Stopped"


def _power(rt: Runtime, iid: int) -> Any:
    with rt.db.read() as s:
        return s.scalar(select(Instance.power).where(Instance.id == iid))
