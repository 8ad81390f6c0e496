"""Every one of the 50 cells of the lifecycle table through the API: an instance is brought
into each of the ten power states by API calls, then sent each of the five commands.

The transitional states (starting, stopping, forcestopping, resetting, destroying,
restoring) last only while the engine has not carried the step out; here the compute
driver's calls fail (as a host's would) and the clock stands still, so the step waits for
its retry and the instance stays in that state for as long as the test needs. The expected
answers are the hand-written table of tests/lifecycle_table.py, never the module's."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from aiiro.compute.driver import InstanceSpec
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime
from tests.api import instance_helpers as ih
from tests.conftest import Account
from tests.lifecycle_table import COMMANDS, REFUSED, SHOWN, TABLE, expected

DRIVER_CALLS = ("provision", "start", "stop", "force_stop", "reset", "destroy", "restore")
DISK = "/webarenaIndigo/v1/disk"


class Cell:
    def __init__(
        self,
        rt: Runtime,
        engine: Engine,
        alice: Account,
        client: TestClient,
        admin_headers: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self.rt, self.engine, self.alice = rt, engine, alice
        self.client, self.admin_headers, self.monkeypatch = client, admin_headers, monkeypatch
        rt.clock = ih.FrozenClock()
        self.key = ih.register_key(alice)

    def break_driver(self, *calls: str) -> None:
        """The driver's calls raise from now on: the step in progress waits for a retry."""

        def fail(spec: InstanceSpec, *args: Any) -> None:
            raise RuntimeError("the host is unreachable")

        for call in calls or DRIVER_CALLS:
            self.monkeypatch.setattr(self.engine.driver, call, fail)

    def power(self, iid: int) -> str:
        r = self.client.get(f"/_aiiro/instances/{iid}", headers=self.admin_headers)
        assert r.status_code == 200, r.text
        power: str = r.json()["power"]
        return power

    def ok(self, iid: int, cmd: str) -> None:
        r = ih.command(self.alice, iid, cmd)
        assert r.status_code == 200, r.text

    def reach(self, state: str) -> int:
        """An instance in `state`, brought there through the API."""
        self.rt.settings.operation_max_attempts = 50  # nothing is given up while we look
        if state == "installing":
            self.break_driver("provision")
            return ih.create_id(self.alice, self.key)
        if state == "install_failed":
            self.rt.settings.operation_max_attempts = 1  # the first failure is the last
            self.break_driver("provision")
            iid = ih.create_id(self.alice, self.key)
            self.rt.settings.operation_max_attempts = 50
            return iid
        iid = ih.create_id(self.alice, self.key)
        if state in ("running", "stopping", "forcestopping", "resetting"):
            self.ok(iid, "start")
        if state == "restoring":
            r = self.alice.post(f"{DISK}/takesnapshot", {"name": "s", "instanceid": iid})
            assert r.status_code == 200, r.text
            r = self.alice.get(f"{DISK}/snapshotlist/{iid}")
            [snap] = r.json()
            self.break_driver()
            r = self.alice.post(
                f"{DISK}/restoresnapshot", {"instanceid": iid, "snapshotid": snap["id"]}
            )
            assert r.status_code == 200, r.text
            return iid
        command = {
            "starting": "start",
            "stopping": "stop",
            "forcestopping": "forcestop",
            "resetting": "reset",
            "destroying": "destroy",
        }.get(state)
        if command is not None:
            self.break_driver()
            self.ok(iid, command)
        return iid


@pytest.fixture
def cell(
    rt: Runtime,
    engine: Engine,
    alice: Account,
    client: TestClient,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cell:
    return Cell(rt, engine, alice, client, admin_headers, monkeypatch)


@pytest.mark.parametrize("state", list(TABLE))
def test_each_state_is_reached_and_shown(cell: Cell, state: str) -> None:
    iid = cell.reach(state)
    assert cell.power(iid) == state
    item = ih.listed(cell.alice, iid)
    assert item is not None
    assert (item["status"], item["instancestatus"]) == SHOWN[state]


@pytest.mark.parametrize("state", list(TABLE))
@pytest.mark.parametrize("command", COMMANDS)
def test_every_cell_through_the_api(cell: Cell, state: str, command: str) -> None:
    iid = cell.reach(state)
    assert cell.power(iid) == state
    cell.break_driver()  # the accepted step stays where the command put the instance
    to, status, code = expected(state, command)
    r = ih.command(cell.alice, iid, command)
    body = r.json()
    if to is None:
        assert r.status_code == status
        assert body == {"success": False, "errorMessage": REFUSED[code], "errorCode": code}
        assert cell.power(iid) == state  # a refusal changes nothing
    else:
        assert (r.status_code, body["sucessCode"]) == (status, code), r.text
        assert cell.power(iid) == to
