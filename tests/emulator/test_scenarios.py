"""Named race scenarios (POST /_aiiro/scenarios/NAME): each one call, and the race then
happens through the Indigo API as named."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from aiiro.runtime import Runtime
from tests.api import instance_helpers as ih
from tests.api.test_snapshots import DISK, console, only, take
from tests.conftest import Account

LIST = "/webarenaIndigo/v1/vm/sshkey"


@pytest.fixture
def scenario(client: TestClient, admin_headers: dict[str, str]) -> Any:
    def run(name: str, **params: Any) -> dict[str, Any]:
        r = client.post(f"/_aiiro/scenarios/{name}", json=params, headers=admin_headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        assert body["scenario"] == name
        return body

    return run


@pytest.fixture
def key(alice: Account) -> int:
    return ih.register_key(alice)


@pytest.fixture
def stopped(alice: Account, key: int) -> int:
    iid = ih.create_id(alice, key)
    assert ih.shown(alice, iid) == "Stopped"
    return iid


@pytest.fixture
def running(alice: Account, stopped: int) -> int:
    assert ih.command(alice, stopped, "start").status_code == 200
    return stopped


def refused(r: Any, code: str, message: str) -> None:
    assert r.status_code == 400, r.text
    assert r.json() == {"success": False, "errorMessage": message, "errorCode": code}


def test_the_list_names_every_scenario_with_what_a_robust_client_does(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    r = client.get("/_aiiro/scenarios", headers=admin_headers)
    assert r.status_code == 200
    listed = r.json()["scenarios"]
    assert r.json()["total"] == len(listed)
    assert [s["name"] for s in listed] == [
        "power-wrong-state",
        "destroy-while-running",
        "provisioning",
        "mid-command",
        "slow-stop",
        "stop-hangs",
        "quota-storm",
        "boot-hang-after-restore",
        "out-of-stock",
        "daily-cap",
    ]
    for s in listed:
        assert set(s) == {"name", "sets_up", "race", "robust", "params"}
        assert s["sets_up"] and s["race"] and s["robust"]


def test_unknown_names_missing_instances_and_no_token(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    r = client.post("/_aiiro/scenarios/no-such", headers=admin_headers)
    assert r.status_code == 404 and r.json()["errorCode"] == "A4049"
    r = client.post("/_aiiro/scenarios/power-wrong-state", headers=admin_headers)
    assert r.status_code == 400 and r.json()["errorCode"] == "A4001"
    r = client.post(
        "/_aiiro/scenarios/power-wrong-state", json={"instance_id": 999999}, headers=admin_headers
    )
    assert r.status_code == 404 and r.json()["errorCode"] == "A4043"
    r = client.post("/_aiiro/scenarios/out-of-stock", json={"count": 0}, headers=admin_headers)
    assert r.status_code == 400
    r = client.post("/_aiiro/scenarios/out-of-stock", json={"account_id": 999999},
                    headers=admin_headers)  # fmt: skip
    assert r.status_code == 400
    assert client.post("/_aiiro/scenarios/out-of-stock").status_code == 401


def test_power_wrong_state(alice: Account, stopped: int, scenario: Any) -> None:
    assert scenario("power-wrong-state", instance_id=stopped)["sent"] == "start"
    refused(ih.command(alice, stopped, "start"), "I10016", "This instance is already running.")
    assert scenario("power-wrong-state", instance_id=stopped)["sent"] == "stop"
    refused(ih.command(alice, stopped, "stop"), "I10017", "This instance is already stopped.")


def test_destroy_while_running(alice: Account, stopped: int, scenario: Any) -> None:
    assert scenario("destroy-while-running", instance_id=stopped)["sent"] == "start"
    refused(
        ih.command(alice, stopped, "destroy"),
        "I10055",
        "Instance is in running status. Please stop the instance before destroying.",
    )
    assert scenario("destroy-while-running", instance_id=stopped)["sent"] is None


def test_provisioning(alice: Account, key: int, rt: Runtime, scenario: Any) -> None:
    assert scenario("provisioning")["profile"] == "faithful"
    iid = ih.create_id(alice, key)
    assert ih.shown(alice, iid) == "OS installation In Progress"
    assert ih.command(alice, iid, "start").json()["errorCode"] == "A4021"
    ih.advance(rt, 90)
    assert ih.shown(alice, iid) == "Stopped"
    assert ih.command(alice, iid, "start").status_code == 200


def test_mid_command(alice: Account, running: int, rt: Runtime, scenario: Any) -> None:
    assert scenario("mid-command", instance_id=running)["sent"] == "stop"
    assert ih.shown(alice, running) == "Running"
    assert ih.command(alice, running, "start").json()["errorCode"] == "A4018"
    assert ih.command(alice, running, "stop").json()["errorCode"] == "A4018"
    assert ih.command(alice, running, "destroy").json()["errorCode"] == "I10055"
    ih.advance(rt, 120)
    assert ih.shown(alice, running) == "Stopped"
    assert ih.command(alice, running, "destroy").status_code == 200


def test_slow_stop(alice: Account, running: int, rt: Runtime, scenario: Any) -> None:
    scenario("slow-stop")
    r = ih.command(alice, running, "stop")
    assert r.status_code == 200 and r.json()["sucessCode"] == "I10025"
    ih.advance(rt, 119)
    assert ih.shown(alice, running) == "Running"
    ih.advance(rt, 1)
    assert ih.shown(alice, running) == "Stopped"


def test_stop_hangs(alice: Account, running: int, rt: Runtime, scenario: Any) -> None:
    scenario("stop-hangs", account_id=alice.id)
    assert ih.command(alice, running, "stop").json()["sucessCode"] == "I10025"
    ih.advance(rt, 1800)  # past every profile's stop time-out (the token lasts 3599 s)
    assert ih.shown(alice, running) == "Running"
    assert ih.command(alice, running, "forcestop").status_code == 200
    assert ih.shown(alice, running) == "Stopped"


def test_quota_storm(
    client: TestClient,
    admin_headers: dict[str, str],
    alice: Account,
    bob: Account,
    rt: Runtime,
    scenario: Any,
) -> None:
    rt.clock.advance(61 - rt.clock.time() % 60)  # one second into a minute
    done = scenario("quota-storm", account_id=alice.id)
    assert (done["quota"], len(done["api_key_ids"])) == (True, 1)
    r = alice.get(LIST)
    assert r.status_code == 429 and r.json()["errorMessage"] == "Too Many Request."
    assert "retry-after" not in r.headers
    assert bob.get(LIST).status_code == 200  # another account's key is not spent
    [key] = client.get(f"/_aiiro/quota?account_id={alice.id}", headers=admin_headers).json()["keys"]
    assert [(m["requests"], m["refused"]) for m in key["minutes"]] == [(7, 1)]
    rt.clock.advance(int(r.headers["x-quota-reset"]) / 1000 - rt.clock.time())
    assert alice.get(LIST).status_code == 200


def test_boot_hang_after_restore(alice: Account, running: int, rt: Runtime, scenario: Any) -> None:
    take(alice, running)
    sid = only(alice, running)["id"]
    ih.command(alice, running, "stop")
    scenario("boot-hang-after-restore")
    alice.post(f"{DISK}/restoresnapshot", {"instanceid": running, "snapshotid": sid})
    assert ih.command(alice, running, "start").status_code == 200
    assert ih.shown(alice, running) == "Running"
    assert console(rt, running).endswith("grub> ")
    ih.command(alice, running, "forcestop")
    ih.command(alice, running, "start")
    assert console(rt, running).endswith("login: ")


def test_out_of_stock(alice: Account, key: int, scenario: Any) -> None:
    scenario("out-of-stock", count=2)
    for _ in range(2):
        refused(ih.create(alice, key), "I10059", "Out of stock.")
    assert ih.create(alice, key).status_code == 201


def test_daily_cap(alice: Account, bob: Account, key: int, scenario: Any) -> None:
    scenario("daily-cap", account_id=alice.id)
    refused(
        ih.create(alice, key),
        "A4060",
        "The daily limit of 0 instance creations has been reached. Please try again later.",
    )
    assert ih.create(bob, ih.register_key(bob)).status_code == 201  # only alice's account


def test_daily_cap_with_a_limit(alice: Account, key: int, scenario: Any) -> None:
    scenario("daily-cap", limit=1)
    assert ih.create(alice, key).status_code == 201
    assert ih.create(alice, key).json()["errorCode"] == "A4060"
