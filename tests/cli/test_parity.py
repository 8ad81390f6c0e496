"""`aiiro parity`: two aiiro servers in-process, one of them answering differently on
purpose (a type changed, keys reordered, a header dropped), compared call by call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from aiiro.runtime import Runtime
from tests.cli.client_env import Cli
from tests.cli.fidelity_env import OTHER, Other, altered, other_server, two_sided_cli
from tests.conftest import Account

SSHKEYS = "/webarenaIndigo/v1/vm/sshkey"
READ_ONLY = [
    "POST /oauth/v1/accesstokens",
    "GET /vm/sshkey",
    "GET /vm/sshkey/active/status",
    "GET /vm/instancetypes",
    "GET /vm/getregion",
    "GET /vm/oslist",
    "GET /vm/getinstancespec",
    "GET /vm/getinstancelist",
    "GET /nw/getfirewalllist",
    "GET /nw/gettemplate/{id}",
    "GET /disk/snapshotlist/{instanceId}",
]


def _total_as_text_and_last(body: dict[str, Any]) -> dict[str, Any]:
    rest = {k: v for k, v in body.items() if k != "total"}
    return {**rest, "total": str(body["total"])}


@pytest.fixture
def same(tmp_path: Path) -> Iterator[Other]:
    yield from other_server(tmp_path)


@pytest.fixture
def different(tmp_path: Path) -> Iterator[Other]:
    yield from other_server(
        tmp_path, altered(SSHKEYS, _total_as_text_and_last, drop="cache-control")
    )


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Other]:
    yield from other_server(tmp_path, quota=True)


def test_the_same_service_on_both_sides_shows_no_difference(
    tmp_path: Path, client: TestClient, rt: Runtime, alice: Account, same: Other
) -> None:
    cli = two_sided_cli(tmp_path, client, rt, alice, same)
    result = cli.ok("parity", "--against", OTHER)
    lines = result.stdout.splitlines()
    assert lines[:2] == ["left:  http://aiiro.test", "right: http://other.test"]
    assert [line.split("  ")[0] for line in lines if line.startswith(("GET", "POST"))] == READ_ONLY
    # Neither account has a firewall or an instance: nothing to read about them.
    assert lines[-1] == "9 of 11 calls compared, 0 difference(s) in 0 call(s)."
    assert "note: asked of neither side: nothing to ask about" in result.stdout


def test_a_changed_type_order_and_header_are_each_reported(
    tmp_path: Path, client: TestClient, rt: Runtime, alice: Account, different: Other
) -> None:
    cli = two_sided_cli(tmp_path, client, rt, alice, different)
    result = cli("parity", "--against", OTHER, "-o", "json")
    assert result.exit_code == 11, result.stderr
    report = json.loads(result.stdout)
    assert report["differences"] == 3
    by_call = {c["call"]: c for c in report["calls"]}
    assert by_call["GET /vm/sshkey"]["differences"] == [
        {
            "where": "header cache-control",
            "kind": "header",
            "left": "no-cache, private",
            "right": "—",
        },
        {
            "where": "$",
            "kind": "order",
            "left": "success, total, sshkeys",
            "right": "success, sshkeys, total",
        },
        {"where": "$.total", "kind": "type", "left": "integer", "right": "string"},
    ]
    assert by_call["GET /vm/sshkey"]["right"]["shape"] == {
        "success": "boolean",
        "sshkeys": [],
        "total": "string",
    }
    # The active list is another path: the same on both sides.
    assert by_call["GET /vm/sshkey/active/status"]["differences"] == []
    text = cli("parity", "--against", OTHER)
    assert text.exit_code == 11
    assert "  $.total" in text.stdout and "integer" in text.stdout
    assert text.stdout.splitlines()[-1] == "9 of 11 calls compared, 3 difference(s) in 1 call(s)."


def test_it_waits_for_the_quota_and_says_so(
    tmp_path: Path, client: TestClient, rt: Runtime, alice: Account, limited: Other
) -> None:
    cli = two_sided_cli(tmp_path, client, rt, alice, limited)
    result = cli("parity", "--against", OTHER, "-o", "json")
    waits = [line for line in result.stderr.splitlines() if "for the API quota" in line]
    assert len(waits) == 1, result.stderr
    assert waits[0].startswith("right: waiting ")
    assert waits[0].endswith(" s for the API quota (6 requests a minute)")
    report = json.loads(result.stdout)
    # No call drew a 429: the seventh waited for the next minute.
    assert {c["right"]["status"] for c in report["calls"] if c["right"]} == {200, 201}
    quota = [c["right"]["headers"].get("x-quota-available") for c in report["calls"] if c["right"]]
    assert quota == [None, "5", "4", "3", "2", "1", "0", "5", "4"]
    # Only the right side sends the quota headers: every call after the token differs.
    assert result.exit_code == 11
    assert report["calls"][1]["differences"][0] == {
        "where": "header x-quota-allowed",
        "kind": "header",
        "left": "—",
        "right": "6",
    }


@pytest.mark.parametrize(
    ("scenario", "steps"),
    [
        (
            "sshkey-roundtrip",
            [
                "POST /vm/sshkey",
                "GET /vm/sshkey/{id}",
                "PUT /vm/sshkey/{id}",
                "GET /vm/sshkey",
                "DELETE /vm/sshkey/{id}",
            ],
        ),
        (
            "firewall-roundtrip",
            [
                "POST /nw/createfirewall",
                "GET /nw/gettemplate/{id}",
                "PUT /nw/updatefirewall",
                "GET /nw/getfirewalllist",
                "DELETE /nw/deletefirewall/{id}",
            ],
        ),
    ],
)
def test_a_write_scenario_runs_on_both_sides_and_cleans_up(
    tmp_path: Path,
    client: TestClient,
    rt: Runtime,
    alice: Account,
    same: Other,
    scenario: str,
    steps: list[str],
) -> None:
    cli = two_sided_cli(tmp_path, client, rt, alice, same)
    result = cli("parity", "--against", OTHER, "--scenario", scenario, "--yes", "-o", "json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    report = json.loads(result.stdout)
    written = report["calls"][len(READ_ONLY) :]
    assert [c["call"] for c in written] == steps
    assert all(c["left"] and c["right"] and c["differences"] == [] for c in written)
    assert "It is free of charge" in result.stderr
    for account in (alice, same.account):
        assert account.get(SSHKEYS).json()["sshkeys"] == []
        assert account.get("/webarenaIndigo/v1/nw/getfirewalllist").json() == []


def test_the_instance_lifecycle_waits_for_each_state(
    tmp_path: Path, client: TestClient, rt: Runtime, alice: Account, same: Other
) -> None:
    cli = two_sided_cli(tmp_path, client, rt, alice, same)
    result = cli(
        "parity", "--against", OTHER, "--scenario", "instance-lifecycle", "--yes", "--poll", "1"
    )
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "costs money" in result.stderr
    assert "GET /vm/getinstancelist (until Running)" in result.stdout
    assert "not removed" not in result.stderr
    for account in (alice, same.account):
        assert account.get("/webarenaIndigo/v1/vm/getinstancelist").json() == []
        assert account.get(SSHKEYS).json()["sshkeys"] == []


def test_a_write_scenario_is_not_run_unasked(
    tmp_path: Path, client: TestClient, rt: Runtime, alice: Account, same: Other
) -> None:
    cli = two_sided_cli(tmp_path, client, rt, alice, same)
    result = cli("parity", "--against", OTHER, "--scenario", "instance-lifecycle")
    assert result.exit_code == 3
    assert "On the real Indigo service this costs money" in result.stderr
    assert "hint: give --yes" in result.stderr
    assert result.stdout == ""
    for account in (alice, same.account):
        assert account.get(SSHKEYS).json()["total"] == 0


def test_the_other_side_needs_credentials(
    tmp_path: Path, client: TestClient, rt: Runtime, alice: Account, same: Other
) -> None:
    cli = two_sided_cli(tmp_path, client, rt, alice, same)
    unset = {"AIIRO_AGAINST_API_KEY": "", "AIIRO_AGAINST_API_SECRET": ""}
    result = cli("parity", "--against", OTHER, **unset)
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        "error: no credentials for http://other.test",
        "hint: give --against-key and --against-secret (AIIRO_AGAINST_API_KEY, "
        "AIIRO_AGAINST_API_SECRET), or --against-profile NAME",
    ]
    dry = cli("parity", "--against", OTHER, "--scenario", "sshkey-roundtrip", "--yes", "--dry-run")
    assert dry.exit_code == 2
    assert "there is nothing to compare without sending requests" in dry.stderr
    assert alice.get(SSHKEYS).json()["total"] == 0
    bad = cli("parity", "--against", OTHER, "--scenario", "nope")
    assert bad.exit_code == 2
    assert "'nope': choose sshkey-roundtrip, firewall-roundtrip, instance-lifecycle" in bad.stderr


def test_in_a_terminal_a_write_scenario_asks_first(
    tmp_path: Path, client: TestClient, rt: Runtime, alice: Account, same: Other
) -> None:
    cli = two_sided_cli(tmp_path, client, rt, alice, same)
    asking = Cli(cli.env._replace(interactive=True), cli.runner)
    refused = asking("parity", "--against", OTHER, "--scenario", "sshkey-roundtrip", input="n\n")
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        "The scenario sshkey-roundtrip writes on both sides: it will create, read, rename, "
        "list and delete an SSH key, on http://aiiro.test and on http://other.test. It is "
        "free of charge, but it changes both accounts while it runs.",
        "Go on? [y/N]:Aborted!",  # (the runner echoes no answer, nor the prompt's space)
    ]
    assert alice.get(SSHKEYS).json()["total"] == 0
    agreed = asking("parity", "--against", OTHER, "--scenario", "sshkey-roundtrip", input="y\n")
    assert agreed.exit_code == 0, agreed.stderr
    assert "PUT /vm/sshkey/{id}" in agreed.stdout
