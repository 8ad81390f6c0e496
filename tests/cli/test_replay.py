"""`aiiro replay`: a session recorded through the proxy in front of one aiiro, sent again to
another whose ids differ (and, once, whose answers differ on purpose)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from aiiro.fidelity.recorder import Recording, proxy_app, read
from aiiro.redaction import STAND_IN_KEY
from aiiro.runtime import Runtime
from tests.cli.fidelity_env import (
    OTHER,
    PROXY,
    Other,
    altered,
    make_pubkey,
    other_server,
    session,
    through_proxy,
    two_sided_cli,
    upstream,
)
from tests.conftest import Account

SSHKEYS = "/webarenaIndigo/v1/vm/sshkey"


@pytest.fixture
def recording(tmp_path: Path, client: TestClient, rt: Runtime, alice: Account) -> Path:
    """alice's session on the left server, recorded through the proxy."""
    path = tmp_path / "session.jsonl"
    (tmp_path / "rec").mkdir()
    app = proxy_app("http://aiiro.test", Recording(path, "http://aiiro.test"), upstream(client),
                    rt.clock.time)  # fmt: skip
    with TestClient(app, base_url=PROXY) as proxy:
        session(through_proxy(tmp_path / "rec", proxy, rt, alice), make_pubkey(tmp_path))
    return path


def offset_ids(other: Other) -> None:
    """Make the other server's next ids differ from the left's: a replay that sent the
    recorded ids would ask about things that are not there."""
    for n in range(3):
        made = other.account.post(SSHKEYS, {"sshName": f"pad{n}", "sshKey": STAND_IN_KEY}).json()
        other.account.delete(f"{SSHKEYS}/{made['sshKey']['id']}")


@pytest.fixture
def same(tmp_path: Path) -> Iterator[Other]:
    yield from other_server(tmp_path)


def _total_as_text(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "total": str(body["total"])}


@pytest.fixture
def different(tmp_path: Path) -> Iterator[Other]:
    yield from other_server(tmp_path, altered(SSHKEYS, _total_as_text))


def test_a_replay_against_the_same_service_matches_with_its_own_ids(
    tmp_path: Path,
    client: TestClient,
    rt: Runtime,
    alice: Account,
    recording: Path,
    same: Other,
) -> None:
    offset_ids(same)
    cli = two_sided_cli(tmp_path, client, rt, alice, same)
    result = cli("replay", str(recording), "--against", OTHER, "-o", "json")
    report = json.loads(result.stdout)
    assert report["left"] == f"{recording} (recorded from http://aiiro.test)"
    assert report["right"] == OTHER
    mismatched = [c for c in report["calls"] if c["differences"]]
    assert mismatched == []
    assert result.exit_code == 0
    calls = [c["call"] for c in report["calls"]]
    assert calls[0] == "POST /oauth/v1/accesstokens"
    assert "POST /webarenaIndigo/v1/vm/createinstance" in calls
    # The replay made what the session made, on the other account, with its own ids.
    _, exchanges = read(recording)
    sent = {x["path"].rsplit("/", 1)[-1]: x["request"]["body"] for x in exchanges}
    listed = same.account.get("/webarenaIndigo/v1/vm/getinstancelist").json()
    assert [(i["instance_name"], i["instancestatus"]) for i in listed] == [
        (sent["createinstance"]["instanceName"], "Stopped")
    ]
    keys = same.account.get(SSHKEYS).json()["sshkeys"]
    assert [k["id"] for k in keys] == [listed[0]["sshkey_id"]] == [4]  # (1 on the left)
    firewalls = same.account.get("/webarenaIndigo/v1/nw/getfirewalllist").json()
    assert [f["name"] for f in firewalls] == [sent["createfirewall"]["name"]]
    snaps = same.account.get(f"/webarenaIndigo/v1/disk/snapshotlist/{listed[0]['id']}").json()
    assert [s["status"] for s in snaps] == ["created"]


def test_a_replay_shows_where_the_other_side_differs(
    tmp_path: Path,
    client: TestClient,
    rt: Runtime,
    alice: Account,
    recording: Path,
    different: Other,
) -> None:
    cli = two_sided_cli(tmp_path, client, rt, alice, different)
    result = cli("replay", str(recording), "--against", OTHER)
    assert result.exit_code == 11, result.stderr
    diff_lines = [line.split() for line in result.stdout.splitlines() if line.startswith("  $")]
    assert diff_lines
    assert all(line == ["$.total", "type", "integer", "string"] for line in diff_lines)


def test_a_file_that_is_no_recording_is_refused(
    tmp_path: Path, client: TestClient, rt: Runtime, alice: Account, same: Other
) -> None:
    cli = two_sided_cli(tmp_path, client, rt, alice, same)
    bogus = tmp_path / "notes.txt"
    bogus.write_text('{"hello": 1}\n')
    result = cli("replay", str(bogus), "--against", OTHER)
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        f"error: cannot read {bogus}: {bogus} is not a recording of `aiiro record`"
    ]
