"""When the driver keeps failing: the engine gives up after AIIRO_OPERATION_MAX_ATTEMPTS
runs, the instance settles where it takes commands again, the tenant sees a state (never
the host's message), and the operator sees the failed operation with its reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from aiiro.compute.driver import InstanceSpec
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime
from tests.api import instance_helpers as ih
from tests.api.instance_helpers import advance, command, create_id, listed, register_key, shown
from tests.conftest import Account

# What libvirt said on a host without /var/lib/libvirt/dnsmasq.
HOST_ERROR = "Failed to create file '/var/lib/libvirt/dnsmasq/aiirobr1.macs.new': No such file"


@pytest.fixture(autouse=True)
def _two_attempts(rt: Runtime) -> None:
    rt.settings.operation_max_attempts = 2


def breaks(engine: Engine, monkeypatch: pytest.MonkeyPatch, action: str) -> Callable[[], None]:
    """Make the driver's `action` raise as libvirt does; returns what heals it."""
    driver = engine.driver

    def fail(spec: InstanceSpec, *args: Any) -> None:
        raise RuntimeError(HOST_ERROR)

    monkeypatch.setattr(driver, action, fail)
    return lambda: monkeypatch.undo()


def give_up(rt: Runtime, acct: Account) -> None:
    """The first run failed when the command was taken; the second, 2 s later, is the last."""
    advance(rt, 2)
    ih.listing(acct)  # an API call runs what fell due (no worker thread in tests)


def failed_ops(client: TestClient, headers: dict[str, str], iid: int) -> list[dict[str, Any]]:
    r = client.get(
        "/_aiiro/operations", params={"instance": iid, "state": "failed"}, headers=headers
    )
    assert r.status_code == 200, r.text
    ops: list[dict[str, Any]] = r.json()["operations"]
    return ops


def test_an_installation_that_keeps_failing_ends_failed_and_can_be_destroyed(
    rt: Runtime,
    alice: Account,
    client: TestClient,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
) -> None:
    breaks(engine, monkeypatch, "provision")
    iid = create_id(alice, register_key(alice))
    assert shown(alice, iid) == "OS installation In Progress"  # retried in 2 s
    give_up(rt, alice)
    item = listed(alice, iid)
    assert item is not None
    assert (item["status"], item["instancestatus"]) == ("READY", "OS installation Failed")
    assert item["ip"] == "" and item["ipaddress"] is None  # never provisioned
    assert "dnsmasq" not in str(item)  # the host's words are the operator's
    r = command(alice, iid, "start")
    assert r.status_code == 400
    assert r.json() == {
        "success": False,
        "errorMessage": "The instance could not be provisioned. Destroy it and create it again.",
        "errorCode": "A4019",
    }
    [op] = failed_ops(client, admin_headers, iid)
    assert (op["kind"], op["attempts"]) == ("provision", 2)
    assert op["error"] == f"RuntimeError: {HOST_ERROR}"
    r = client.get(f"/_aiiro/instances/{iid}", headers=admin_headers)
    assert r.status_code == 200
    view = r.json()
    assert (view["power"], view["instancestatus"]) == ("install_failed", "OS installation Failed")
    assert view["failure"] == op and view["operations"][0] == op

    r = command(alice, iid, "destroy")
    assert r.status_code == 200 and r.json()["sucessCode"] == "I20010"
    advance(rt, 60)
    assert listed(alice, iid) is None


def test_a_start_that_keeps_failing_leaves_the_instance_stopped(
    rt: Runtime,
    alice: Account,
    client: TestClient,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
) -> None:
    iid = create_id(alice, register_key(alice))
    assert shown(alice, iid) == "Stopped"
    heal = breaks(engine, monkeypatch, "start")
    assert command(alice, iid, "start").json()["sucessCode"] == "I20008"
    assert shown(alice, iid) == "Running"  # what start answered, while it is retried
    give_up(rt, alice)
    assert shown(alice, iid) == "Stopped"  # it did not start: a state, not an error text
    r = client.get(f"/_aiiro/instances/{iid}", headers=admin_headers)
    assert r.json()["failure"]["kind"] == "start"

    heal()
    assert command(alice, iid, "start").json()["sucessCode"] == "I20008"
    assert shown(alice, iid) == "Running"
    r = client.get(f"/_aiiro/instances/{iid}", headers=admin_headers)
    assert r.json()["failure"] is None  # got past it
    assert [o["kind"] for o in failed_ops(client, admin_headers, iid)] == ["start"]


def test_a_destroy_that_keeps_failing_gives_the_instance_back(
    rt: Runtime, alice: Account, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    iid = create_id(alice, register_key(alice))
    heal = breaks(engine, monkeypatch, "destroy")
    assert command(alice, iid, "destroy").json()["sucessCode"] == "I20010"
    give_up(rt, alice)
    item = listed(alice, iid)
    assert item is not None
    assert (item["instancestatus"], item["closed_at"]) == ("Stopped", None)
    heal()
    assert command(alice, iid, "destroy").status_code == 200
    advance(rt, 60)
    assert listed(alice, iid) is None


@pytest.mark.parametrize(("action", "cmd"), [("stop", "stop"), ("reset", "reset")])
def test_a_stop_or_reset_that_keeps_failing_leaves_it_running(
    rt: Runtime,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
    action: str,
    cmd: str,
    engine: Engine,
) -> None:
    iid = create_id(alice, register_key(alice))
    command(alice, iid, "start")
    breaks(engine, monkeypatch, action)
    assert command(alice, iid, cmd).status_code == 200
    give_up(rt, alice)
    assert shown(alice, iid) == "Running"
    assert command(alice, iid, "forcestop").json()["sucessCode"] == "I20009"
    assert shown(alice, iid) == "Stopped"


def test_a_later_command_decides_where_a_failed_step_ends(
    rt: Runtime, alice: Account, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    iid = create_id(alice, register_key(alice))
    command(alice, iid, "start")
    breaks(engine, monkeypatch, "force_stop")
    command(alice, iid, "forcestop")  # fails, retried in 2 s
    assert command(alice, iid, "start").json()["sucessCode"] == "I20008"  # queued behind it
    give_up(rt, alice)
    # The forcestop gave up while the instance was already starting: the start ran after.
    assert shown(alice, iid) == "Running"


def test_a_snapshot_that_keeps_failing_is_failed_and_can_be_retaken(
    rt: Runtime, alice: Account, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    iid = create_id(alice, register_key(alice))
    heal = breaks(engine, monkeypatch, "snapshot")
    disk = "/webarenaIndigo/v1/disk"
    r = alice.post(f"{disk}/takesnapshot", {"name": "s", "instanceid": iid, "slotnum": "0"})
    assert r.json() == {"STATUS": 0}
    give_up(rt, alice)
    [snap] = alice.get(f"{disk}/snapshotlist/{iid}").json()
    assert snap["status"] == "failed"
    heal()
    r = alice.post(f"{disk}/retakesnapshot", {"instanceid": iid, "snapshotid": snap["id"]})
    assert r.json() == {"STATUS": 0}
    [snap] = alice.get(f"{disk}/snapshotlist/{iid}").json()
    assert snap["status"] == "created"


def test_the_operations_list_for_the_operator(
    rt: Runtime,
    alice: Account,
    client: TestClient,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
) -> None:
    breaks(engine, monkeypatch, "provision")
    first = create_id(alice, register_key(alice), "one")
    second = create_id(alice, register_key(alice, "k2"), "two")
    give_up(rt, alice)
    r = client.get("/_aiiro/operations", params={"state": "failed"}, headers=admin_headers)
    assert [(o["instance_id"], o["kind"], o["state"]) for o in r.json()["operations"]] == [
        (second, "provision", "failed"),
        (first, "provision", "failed"),
    ]
    r = client.get("/_aiiro/operations", params={"limit": 1}, headers=admin_headers)
    assert len(r.json()["operations"]) == 1
    for bad in ({"state": "broken"}, {"limit": 0}, {"instance": "x"}):
        r = client.get("/_aiiro/operations", params=bad, headers=admin_headers)
        assert r.status_code == 400 and r.json()["success"] is False
    assert client.get("/_aiiro/operations").status_code == 401
    r = client.get("/_aiiro/instances/999", headers=admin_headers)
    assert r.status_code == 404 and r.json()["errorCode"] == "A4043"
