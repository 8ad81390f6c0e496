"""Nothing lost under faults: 32 clients of mixed load against a real `aiiro serve` that is
killed with SIGKILL twice (bench/chaos.py; `make chaos` runs it for longer), on each
database. And the
checks themselves (bench/chaos_checks.py), on a made-up journal and store: each catches
what it is there for."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bench import chaos, chaos_checks
from bench.chaos_checks import ACCEPTED, INDETERMINATE, Entry, Kill, Stored


@pytest.mark.acceptance
def test_nothing_lost_when_the_server_is_killed_twice(tmp_path: Path, database_url: str) -> None:
    summary = chaos.run(
        clients=32, seconds=30, kills=2, workdir=tmp_path, database_url=database_url
    )
    failed = {name: c for name, c in summary["checks"].items() if not c["ok"]}
    assert failed == {}, json.dumps(summary, indent=1)
    assert len(summary["kills"]) == 2
    assert summary["ok"] is True


# --- the checks, on a made-up run -------------------------------------------------------

ACCOUNT = 7  # client 0's account


def clean() -> dict[str, Any]:
    """A run where all is well: one instance created, started and snapshotted, one key, an
    indeterminate create that was not applied; the server killed once, with work pending."""
    journal = [
        Entry(0, 1, "create_key", 0.1, ACCEPTED, 201, key=10, name="k1"),
        Entry(0, 2, "create", 0.2, ACCEPTED, 201, instance=1, name="vm1"),
        Entry(0, 3, "create", 0.3, INDETERMINATE, name="vm2"),
        Entry(0, 4, "start", 2.5, ACCEPTED, 200, instance=1),
        Entry(0, 5, "snapshot", 3.0, ACCEPTED, 200, instance=1, name="s1"),
        Entry(0, 6, "list_instances", 3.1, ACCEPTED, 200),
    ]
    db = Stored(
        instances=[
            {
                "id": 1,
                "account_id": ACCOUNT,
                "name": "vm1",
                "power": "running",
                "removed_at": None,
                "ipaddress": "198.18.0.5",
                "secondary_ip": "2001:0DB8:0100:0000:0000:0000:0000:0005",
            }
        ],
        keys=[{"id": 10, "account_id": ACCOUNT, "name": "k1"}],
        snapshots=[
            {
                "id": 3,
                "account_id": ACCOUNT,
                "instance_id": 1,
                "name": "s1",
                "status": "created",
                "deleted_at": None,
            }
        ],
        operations=[
            {"kind": "provision", "instance_id": 1, "snapshot_id": None, "state": "done"},
            {"kind": "start", "instance_id": 1, "snapshot_id": None, "state": "done"},
            {"kind": "snapshot", "instance_id": 1, "snapshot_id": 3, "state": "done"},
        ],
        addresses=[
            {"family": 4, "address": "198.18.0.5", "instance_id": 1},
            {"family": 6, "address": "2001:db8:100::5", "instance_id": 1},
        ],
        integrity=["ok"],
        foreign_keys=0,
    )
    views = {
        0: {
            "instances": [{"id": 1, "instancestatus": "Running"}],
            "keys": [{"id": 10, "name": "k1"}],
            "snapshots": {1: [{"id": 3, "status": "created"}]},
        }
    }
    return {
        "journal": journal,
        "kills": [Kill(1.0, {"pending": 2}, {"installing": 1})],
        "accounts": {0: ACCOUNT},
        "views": views,
        "db": db,
        "settled": (True, 0.5, {}),
        "log_text": "INFO:     Application startup complete.\n",
    }


def failing(run: dict[str, Any]) -> set[str]:
    found = chaos_checks.check(**run).found
    return {name for name, problems in found.items() if problems}


def test_a_clean_run_passes_every_check() -> None:
    assert failing(clean()) == set()


def lost_instance(run: dict[str, Any]) -> None:
    run["journal"].append(Entry(0, 7, "create", 4.0, ACCEPTED, 201, instance=2, name="vm3"))


def lost_command(run: dict[str, Any]) -> None:
    run["journal"].append(Entry(0, 7, "stop", 4.0, ACCEPTED, 200, instance=1))


def doubled_command(run: dict[str, Any]) -> None:
    run["db"].operations.append(
        {"kind": "start", "instance_id": 1, "snapshot_id": None, "state": "done"}
    )


def indeterminate_key_applied_twice(run: dict[str, Any]) -> None:
    run["journal"].append(Entry(0, 7, "create_key", 4.0, INDETERMINATE, name="k2"))
    run["db"].keys += [
        {"id": 11, "account_id": ACCOUNT, "name": "k2"},
        {"id": 12, "account_id": ACCOUNT, "name": "k2"},
    ]
    run["views"][0]["keys"] += [{"id": 11, "name": "k2"}, {"id": 12, "name": "k2"}]


def deleted_key_still_there(run: dict[str, Any]) -> None:
    run["journal"].append(Entry(0, 7, "delete_key", 4.0, ACCEPTED, 200, key=10, name="k1"))


def snapshot_lost(run: dict[str, Any]) -> None:
    run["db"].snapshots.clear()
    run["db"].operations.pop()
    run["views"][0]["snapshots"][1].clear()


def address_held_by_a_removed_instance(run: dict[str, Any]) -> None:
    run["journal"] += [
        Entry(0, 7, "create", 4.0, ACCEPTED, 201, instance=2, name="vm3"),
        Entry(0, 8, "destroy", 7.0, ACCEPTED, 200, instance=2),
    ]
    run["db"].instances.append(
        {
            "id": 2,
            "account_id": ACCOUNT,
            "name": "vm3",
            "power": "destroying",
            "removed_at": "2025-01-01 00:00:09",
            "ipaddress": "198.18.0.9",
            "secondary_ip": None,
        }
    )
    run["db"].operations += [
        {"kind": "provision", "instance_id": 2, "snapshot_id": None, "state": "done"},
        {"kind": "destroy", "instance_id": 2, "snapshot_id": None, "state": "done"},
    ]
    run["db"].addresses.append({"family": 4, "address": "198.18.0.9", "instance_id": 2})


def answer_500(run: dict[str, Any]) -> None:
    run["journal"].append(Entry(0, 7, "list_keys", 4.0, "refused", 500, detail="Internal"))


def locked_in_the_log(run: dict[str, Any]) -> None:
    run["log_text"] += "WARNING operation 9 failed: OperationalError: database is locked\n"


def nothing_in_flight_at_a_kill(run: dict[str, Any]) -> None:
    run["kills"].append(Kill(2.0, {}, {"stopped": 1}))


def failed_operation(run: dict[str, Any]) -> None:
    run["db"].operations[1]["state"] = "failed"


def never_settled(run: dict[str, Any]) -> None:
    run["settled"] = (False, 120.0, {"pending": 1})


def corrupt_store(run: dict[str, Any]) -> None:
    run["db"].integrity = ["*** in database main ***", "Page 5: never used"]


@pytest.mark.parametrize(
    ("fault", "caught_by"),
    [
        (lost_instance, {"instances"}),
        (lost_command, {"commands_once", "instances"}),
        (doubled_command, {"commands_once"}),
        (indeterminate_key_applied_twice, {"ssh_keys", "names_unique"}),
        (deleted_key_still_there, {"ssh_keys"}),
        (snapshot_lost, {"snapshots"}),
        (address_held_by_a_removed_instance, {"addresses"}),
        (answer_500, {"no_5xx"}),
        (locked_in_the_log, {"no_database_locked"}),
        (nothing_in_flight_at_a_kill, {"in_flight_at_each_kill"}),
        (failed_operation, {"no_failed_operations"}),
        (never_settled, {"settled"}),
        (corrupt_store, {"integrity"}),
    ],
)
def test_each_fault_is_caught(fault: Callable[[dict[str, Any]], None], caught_by: set[str]) -> None:
    run = clean()
    fault(run)
    assert failing(run) == caught_by
