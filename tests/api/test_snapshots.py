"""Snapshots over the Indigo API (facts §6): shapes, slots, failure and retake, restore
that really puts the disk back, the GRUB hang after a restore, instances from snapshots."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from aiiro.compute import sim
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime
from aiiro.store.models import Instance
from tests.api import instance_helpers as ih
from tests.conftest import Account

DISK = "/webarenaIndigo/v1/disk"
ZERO = "0000-00-00 00:00:00"


def take(acct: Account, iid: int, name: str = "snap", slot: Any = "0") -> Any:
    body = {"name": name, "instanceid": iid}
    if slot is not None:
        body["slotnum"] = slot
    return acct.post(f"{DISK}/takesnapshot", body)


def snaps(acct: Account, iid: int) -> list[dict[str, Any]]:
    r = acct.get(f"{DISK}/snapshotlist/{iid}")
    assert r.status_code == 200, r.text
    out: list[dict[str, Any]] = r.json()
    return out


def only(acct: Account, iid: int) -> dict[str, Any]:
    items = snaps(acct, iid)
    assert len(items) == 1, items
    return items[0]


def write(client: TestClient, admin_headers: dict[str, str], iid: int, text: str) -> None:
    r = client.put(
        f"/_aiiro/instances/{iid}/files",
        json={"path": "/root/data.txt", "content": text},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text


def read(client: TestClient, admin_headers: dict[str, str], iid: int) -> str | None:
    r = client.get(
        f"/_aiiro/instances/{iid}/files", params={"path": "/root/data.txt"}, headers=admin_headers
    )
    return r.json()["content"] if r.status_code == 200 else None


def fault(client: TestClient, admin_headers: dict[str, str], action: str, **extra: Any) -> None:
    r = client.post("/_aiiro/faults", json={"action": action, **extra}, headers=admin_headers)
    assert r.status_code == 201, r.text


def console(rt: Runtime, iid: int) -> str:
    with rt.db.read() as s:
        inst = s.get(Instance, iid)
        assert inst is not None
        return sim.console_text(rt, json.loads(inst.driver_state))


@pytest.fixture
def key(alice: Account) -> int:
    return ih.register_key(alice)


@pytest.fixture
def running(alice: Account, key: int) -> int:
    iid = ih.create_id(alice, key)
    assert ih.command(alice, iid, "start").status_code == 200
    return iid


@pytest.fixture
def stopped(alice: Account, key: int) -> int:
    iid = ih.create_id(alice, key)
    assert ih.shown(alice, iid) == "Stopped"
    return iid


def test_takesnapshot_answers_status_zero_and_works_on_a_running_instance(
    alice: Account, running: int
) -> None:
    r = take(alice, running)
    assert r.status_code == 200
    assert r.text == '{"STATUS":0}'
    assert only(alice, running)["status"] == "created"


def test_list_shapes_while_running_and_once_created(
    alice: Account, rt: Runtime, running: int, engine: Engine
) -> None:
    ih.use_profile(engine, "fast")
    take(alice, running, "APItest", 0)
    item = only(alice, running)
    assert list(item) == [
        "id", "name", "service_id", "user_id", "disk_id", "volume", "slot_number",
        "status", "size", "deleted", "completed_timestamp", "deleted_timestamp",
    ]  # fmt: skip
    assert item["name"] == "APItest" and item["status"] == "running"
    assert item["user_id"] == str(alice.id)  # a string here
    assert item["service_id"] == f"idg-{alice.id:08d}"
    assert item["size"] == "" and item["slot_number"] == 0 and item["deleted"] == 0
    assert item["completed_timestamp"] == ZERO and item["deleted_timestamp"] == ZERO
    assert isinstance(item["disk_id"], int) and isinstance(item["volume"], int)

    ih.advance(rt, ih.use_profile(engine, "fast").snapshot_s + 0.1)
    done = only(alice, running)
    assert done["status"] == "created"
    assert done["size"].isdigit() and int(done["size"]) > 0  # bytes, as a string
    assert done["completed_timestamp"] != ZERO and done["deleted_timestamp"] == ZERO
    assert done["id"] == item["id"]


def test_no_snapshots_is_an_empty_array(alice: Account, stopped: int) -> None:
    r = alice.get(f"{DISK}/snapshotlist/{stopped}")
    assert r.status_code == 200 and r.text == "[]"


@pytest.mark.parametrize("instance_id", ["999999", "abc", "0"])
def test_snapshotlist_of_an_unknown_instance_is_404(alice: Account, instance_id: str) -> None:
    r = alice.get(f"{DISK}/snapshotlist/{instance_id}")
    assert r.status_code == 404 and r.json()["errorCode"] == "A4043"


def test_slots_hold_one_snapshot_each(alice: Account, stopped: int) -> None:
    assert take(alice, stopped, "a", slot=None).status_code == 200  # slot 0 by default
    r = take(alice, stopped, "b", slot=0)
    assert r.status_code == 400
    assert r.json()["errorCode"] == "A4030"
    assert take(alice, stopped, "b", slot="1").status_code == 200
    assert take(alice, stopped, "c", slot=4).status_code == 200
    for bad in (5, "-1", "x"):
        r = take(alice, stopped, "d", slot=bad)
        assert r.status_code == 400 and r.json()["success"] is False
    first = next(x for x in snaps(alice, stopped) if x["name"] == "a")
    assert alice.delete(f"{DISK}/deletesnapshot/{first['id']}").text == '{"STATUS":0}'
    assert take(alice, stopped, "again", slot=0).status_code == 200
    assert sorted(x["slot_number"] for x in snaps(alice, stopped)) == [0, 1, 4]


def test_takesnapshot_while_provisioning_or_unknown(
    alice: Account, rt: Runtime, key: int, engine: Engine
) -> None:
    ih.use_profile(engine, "fast")
    iid = ih.create_id(alice, key)
    r = take(alice, iid)
    assert r.status_code == 400 and r.json()["errorCode"] == "A4021"
    r = take(alice, 999999)
    assert r.status_code == 404
    r = alice.post(f"{DISK}/takesnapshot", {"instanceid": iid})  # no name
    assert r.status_code == 400 and r.json()["errorCode"] == "A4001"


def test_a_failed_snapshot_is_taken_again_by_retake(
    client: TestClient, admin_headers: dict[str, str], alice: Account, running: int
) -> None:
    fault(client, admin_headers, "snapshot_fails", count=1)
    take(alice, running)
    snap = only(alice, running)
    assert snap["status"] == "failed"
    assert snap["size"] == "" and snap["completed_timestamp"] == ZERO
    # restoring or creating from a failed snapshot is refused
    ih.command(alice, running, "stop")
    r = alice.post(
        f"{DISK}/restoresnapshot", {"instanceid": str(running), "snapshotid": str(snap["id"])}
    )
    assert r.status_code == 400 and r.json()["errorCode"] == "A4031"

    r = alice.post(f"{DISK}/retakesnapshot", {"instanceid": running, "snapshotid": str(snap["id"])})
    assert r.status_code == 200 and r.text == '{"STATUS":0}'
    assert only(alice, running)["status"] == "created"


def test_retake_of_a_created_snapshot_takes_it_again_into_its_slot(
    client: TestClient, admin_headers: dict[str, str], alice: Account, running: int
) -> None:
    # As SatoshiTsutsumi/indigo-client-go's live-API test expects: take, then retake at once.
    write(client, admin_headers, running, "first")
    take(alice, running, slot="2")
    before = only(alice, running)
    assert before["status"] == "created"
    write(client, admin_headers, running, "second")
    r = alice.post(f"{DISK}/retakesnapshot", {"instanceid": running, "snapshotid": before["id"]})
    assert r.status_code == 200 and r.text == '{"STATUS":0}'
    after = only(alice, running)
    assert (after["id"], after["slot_number"], after["status"]) == (before["id"], 2, "created")
    # The slot now holds the disk as it was at the retake.
    ih.command(alice, running, "stop")
    r = alice.post(f"{DISK}/restoresnapshot", {"instanceid": running, "snapshotid": after["id"]})
    assert r.status_code == 200
    assert read(client, admin_headers, running) == "second"


def test_retake_refused_is_the_strict_answer_as_a_fault_rule(
    client: TestClient, admin_headers: dict[str, str], alice: Account, running: int
) -> None:
    fault(client, admin_headers, "retake_refused", count=1)
    fault(client, admin_headers, "snapshot_fails", operation="takesnapshot", count=1)
    take(alice, running)
    sid = only(alice, running)["id"]
    # A failed snapshot is taken again as ever; the rule is not spent on it.
    r = alice.post(f"{DISK}/retakesnapshot", {"instanceid": running, "snapshotid": sid})
    assert r.status_code == 200 and only(alice, running)["status"] == "created"
    r = alice.post(f"{DISK}/retakesnapshot", {"instanceid": running, "snapshotid": sid})
    assert r.status_code == 400
    assert r.json() == {
        "success": False,
        "errorMessage": "Only a failed snapshot can be taken again.",
        "errorCode": "A4032",
    }
    r = alice.post(f"{DISK}/retakesnapshot", {"instanceid": running, "snapshotid": sid})
    assert r.status_code == 200 and r.text == '{"STATUS":0}'
    rules = client.get("/_aiiro/faults", headers=admin_headers).json()["faults"]
    assert [(f["action"], f["operation"], f["remaining"]) for f in rules] == [
        ("retake_refused", "retakesnapshot", 0),
        ("snapshot_fails", "takesnapshot", 0),
    ]


def test_retake_of_a_snapshot_still_being_taken_is_refused(
    alice: Account, rt: Runtime, running: int, engine: Engine
) -> None:
    t = ih.use_profile(engine, "fast")
    take(alice, running)
    sid = only(alice, running)["id"]
    assert only(alice, running)["status"] == "running"
    r = alice.post(f"{DISK}/retakesnapshot", {"instanceid": running, "snapshotid": sid})
    assert r.status_code == 400
    assert r.json() == {
        "success": False,
        "errorMessage": "The snapshot is still being taken.",
        "errorCode": "A4032",
    }
    ih.advance(rt, t.snapshot_s)
    assert only(alice, running)["status"] == "created"


def test_retake_can_fail_again(
    client: TestClient, admin_headers: dict[str, str], alice: Account, running: int
) -> None:
    fault(client, admin_headers, "snapshot_fails", operation="takesnapshot", count=1)
    fault(client, admin_headers, "snapshot_fails", operation="retakesnapshot", count=1)
    take(alice, running)
    sid = only(alice, running)["id"]
    alice.post(f"{DISK}/retakesnapshot", {"instanceid": running, "snapshotid": sid})
    assert only(alice, running)["status"] == "failed"
    alice.post(f"{DISK}/retakesnapshot", {"instanceid": running, "snapshotid": sid})
    assert only(alice, running)["status"] == "created"


def test_restore_needs_a_stopped_instance(alice: Account, running: int) -> None:
    take(alice, running)
    sid = only(alice, running)["id"]
    r = alice.post(f"{DISK}/restoresnapshot", {"instanceid": str(running), "snapshotid": str(sid)})
    assert r.status_code == 400
    assert r.json() == {
        "success": False,
        "errorMessage": "Please turn-off Instance before restoring a snapshot",
        "errorCode": "S10002",
    }


def test_restore_puts_the_disk_back(
    client: TestClient, admin_headers: dict[str, str], alice: Account, running: int
) -> None:
    write(client, admin_headers, running, "before")
    take(alice, running)
    sid = only(alice, running)["id"]
    write(client, admin_headers, running, "after")
    assert read(client, admin_headers, running) == "after"
    ih.command(alice, running, "stop")
    r = alice.post(f"{DISK}/restoresnapshot", {"instanceid": str(running), "snapshotid": str(sid)})
    assert r.status_code == 200 and r.text == '{"STATUS":0}'
    assert read(client, admin_headers, running) == "before"
    assert ih.shown(alice, running) == "Stopped"  # you start it yourself
    assert ih.command(alice, running, "start").json()["sucessCode"] == "I20008"
    assert read(client, admin_headers, running) == "before"


def test_the_snapshot_is_the_disk_when_it_was_requested(
    client: TestClient,
    admin_headers: dict[str, str],
    alice: Account,
    rt: Runtime,
    running: int,
    engine: Engine,
) -> None:
    ih.use_profile(engine, "fast")
    ih.advance(rt, 5)  # booted, by the fast profile's clock
    write(client, admin_headers, running, "at request")
    take(alice, running)
    write(client, admin_headers, running, "while running")
    ih.advance(rt, 5)
    sid = only(alice, running)["id"]
    ih.command(alice, running, "forcestop")
    ih.advance(rt, 5)
    alice.post(f"{DISK}/restoresnapshot", {"instanceid": running, "snapshotid": sid})
    ih.advance(rt, 5)
    assert read(client, admin_headers, running) == "at request"


def test_commands_wait_while_the_restore_runs(
    alice: Account, rt: Runtime, stopped: int, engine: Engine
) -> None:
    rt.clock = ih.FrozenClock()  # the restore lasts until the test moves the clock
    take(alice, stopped)
    sid = only(alice, stopped)["id"]
    timings = ih.use_profile(engine, "fast")
    alice.post(f"{DISK}/restoresnapshot", {"instanceid": stopped, "snapshotid": sid})
    assert ih.shown(alice, stopped) == "Stopped"
    for cmd in ("start", "destroy"):
        r = ih.command(alice, stopped, cmd)
        assert r.status_code == 400 and r.json()["errorCode"] == "A4018"
    r = alice.delete(f"{DISK}/deletesnapshot/{sid}")
    assert r.status_code == 400 and r.json()["errorCode"] == "A4033"
    ih.advance(rt, timings.restore_s + 0.1)
    assert ih.command(alice, stopped, "start").json()["sucessCode"] == "I20008"


def test_boot_hangs_at_grub_after_a_restore_until_forcestop_and_start(
    client: TestClient, admin_headers: dict[str, str], alice: Account, rt: Runtime, running: int
) -> None:
    """The real service's known failure: after a restore the instance says Running, its
    console shows a GRUB prompt and nothing answers; forcestop + start cures it."""
    take(alice, running)
    sid = only(alice, running)["id"]
    ih.command(alice, running, "stop")
    fault(client, admin_headers, "boot_stuck", count=1)
    alice.post(f"{DISK}/restoresnapshot", {"instanceid": running, "snapshotid": sid})
    assert ih.command(alice, running, "start").json()["instanceStatus"] == "running"
    assert ih.shown(alice, running) == "Running"
    assert console(rt, running).endswith("grub> ")
    probe = client.get(
        f"/_aiiro/instances/{running}/probe", params={"source": "192.0.2.1", "port": 22},
        headers=admin_headers,
    ).json()  # fmt: skip
    assert probe["admitted"] is False and "GRUB" in probe["reason"]
    r = client.put(
        f"/_aiiro/instances/{running}/files", json={"path": "/x", "content": "y"},
        headers=admin_headers,
    )  # fmt: skip
    assert r.status_code == 400 and r.json()["errorCode"] == "A4034"

    assert ih.command(alice, running, "forcestop").status_code == 200
    assert ih.command(alice, running, "start").status_code == 200
    assert console(rt, running).endswith("login: ")
    probe = client.get(
        f"/_aiiro/instances/{running}/probe", params={"source": "192.0.2.1", "port": 22},
        headers=admin_headers,
    ).json()  # fmt: skip
    assert probe["admitted"] is True


def test_deletesnapshot(
    alice: Account, bob: Account, rt: Runtime, running: int, engine: Engine
) -> None:
    take(alice, running)
    sid = only(alice, running)["id"]
    r = bob.delete(f"{DISK}/deletesnapshot/{sid}")
    assert r.status_code == 404 and r.json()["errorCode"] == "A4045"
    r = alice.delete(f"{DISK}/deletesnapshot/{sid}")
    assert r.status_code == 200 and r.text == '{"STATUS":0}'
    assert snaps(alice, running) == []
    assert alice.delete(f"{DISK}/deletesnapshot/{sid}").status_code == 404
    ih.use_profile(engine, "fast")
    take(alice, running)
    r = alice.delete(f"{DISK}/deletesnapshot/{only(alice, running)['id']}")
    assert r.status_code == 400 and r.json()["errorCode"] == "A4033"  # still running


def test_another_accounts_snapshots_do_not_exist(
    alice: Account, bob: Account, running: int
) -> None:
    take(alice, running)
    sid = only(alice, running)["id"]
    assert bob.get(f"{DISK}/snapshotlist/{running}").status_code == 404
    assert take(bob, running).status_code == 404
    for path in ("retakesnapshot", "restoresnapshot"):
        r = bob.post(f"{DISK}/{path}", {"instanceid": running, "snapshotid": sid})
        assert r.status_code == 404
    bob_key = ih.register_key(bob)
    r = bob.post(
        ih.CREATE,
        {"sshKeyId": bob_key, "snapshotId": str(sid), "instancePlan": 13, "instanceName": "x"},
    )
    assert r.status_code == 404 and r.json()["errorCode"] == "A4045"


def test_createinstance_from_a_snapshot(
    client: TestClient, admin_headers: dict[str, str], alice: Account, key: int, running: int
) -> None:
    write(client, admin_headers, running, "copied")
    take(alice, running)
    sid = only(alice, running)["id"]
    r = alice.post(
        ih.CREATE,
        {"sshKeyId": key, "snapshotId": str(sid), "instancePlan": 2, "instanceName": "from-api-2"},
    )
    assert r.status_code == 201, r.text
    vms = r.json()["vms"]
    assert vms["snapshot_id"] == sid and vms["plan_id"] == 2
    new = ih.listed(alice, vms["id"])
    source = ih.listed(alice, running)
    assert new is not None and source is not None
    assert new["os"] == source["os"] and new["regionname"] == source["regionname"]
    assert new["snapshot_id"] == sid and new["instancestatus"] == "Stopped"
    ih.command(alice, vms["id"], "start")
    assert read(client, admin_headers, vms["id"]) == "copied"


def test_createinstance_from_a_snapshot_that_is_not_ready(
    client: TestClient, admin_headers: dict[str, str], alice: Account, key: int, running: int
) -> None:
    fault(client, admin_headers, "snapshot_fails", count=1)
    take(alice, running)
    sid = only(alice, running)["id"]
    r = alice.post(
        ih.CREATE, {"sshKeyId": key, "snapshotId": sid, "instancePlan": 13, "instanceName": "x"}
    )
    assert r.status_code == 400 and r.json()["errorCode"] == "A4031"


def test_snapshots_go_with_their_instance(alice: Account, key: int, stopped: int) -> None:
    take(alice, stopped)
    sid = only(alice, stopped)["id"]
    assert ih.command(alice, stopped, "destroy").json()["sucessCode"] == "I20010"
    assert ih.listed(alice, stopped) is None  # removed (instant profile)
    assert alice.get(f"{DISK}/snapshotlist/{stopped}").status_code == 404
    assert alice.delete(f"{DISK}/deletesnapshot/{sid}").status_code == 404
    r = alice.post(
        ih.CREATE, {"sshKeyId": key, "snapshotId": sid, "instancePlan": 13, "instanceName": "x"}
    )
    assert r.status_code == 404


def test_snapshot_round_trip_on_both_databases(
    client: TestClient, admin_headers: dict[str, str], alice: Account, running: int
) -> None:
    write(client, admin_headers, running, "v1")
    assert take(alice, running, "seed-snap").text == '{"STATUS":0}'
    snap = only(alice, running)
    assert snap["status"] == "created"
    write(client, admin_headers, running, "v2")
    ih.command(alice, running, "stop")
    alice.post(
        f"{DISK}/restoresnapshot", {"instanceid": str(running), "snapshotid": str(snap["id"])}
    )
    ih.command(alice, running, "start")
    assert read(client, admin_headers, running) == "v1"
