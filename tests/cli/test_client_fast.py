"""The list commands' dispatcher (cli/client/fast.py) serves plain list commands and
prints exactly what the same command prints under typer; anything else goes to typer."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aiiro.cli.client.fast import parse, run_fast
from aiiro.runtime import Runtime
from tests.api.keygen import rsa_public
from tests.cli.client_env import ENDPOINT, Cli, make_cli
from tests.conftest import Account


@pytest.mark.parametrize(
    ("argv", "wanted"),
    [
        (["instance", "list"], ("instance", {"output": "table"})),
        (["sshkey", "list", "-o", "json"], ("sshkey", {"output": "json"})),
        (
            ["firewall", "list", "-oyaml", "--no-header"],
            ("firewall", {"output": "yaml", "no_header": True}),
        ),
        (
            ["apikey", "list", "--output=json", "--profile", "p", "--columns=id"],
            ("apikey", {"output": "json", "profile": "p", "columns": "id"}),
        ),
        (
            ["--profile", "p", "-o", "json", "instance", "list", "--no-header"],
            ("instance", {"output": "json", "profile": "p", "no_header": True}),
        ),
        (["--context", "p", "sshkey", "list"], ("sshkey", {"output": "table", "profile": "p"})),
        (["--verbose", "instance", "list"], None),
        (["instance", "list", "--help"], None),
        (["instance", "list", "--dry-run"], None),
        (["instance", "list", "-o", "xml"], None),
        (["instance", "list", "-o"], None),
        (["sshkey", "list", "--active"], None),
        (["instance", "show", "web1"], None),
        (["snapshot", "list", "web1"], None),
        (["serve"], None),
        ([], None),
    ],
)
def test_what_the_fast_path_serves(argv: list[str], wanted: object) -> None:
    assert parse(argv) == wanted


@pytest.fixture
def cli(tmp_path: Path, client: TestClient, rt: Runtime, alice: Account) -> Cli:
    return make_cli(
        tmp_path,
        client,
        rt,
        {
            "IndigoApiKey": alice.api_key,
            "IndigoApiPrivateKey": alice.api_secret,
            "AIIRO_ENDPOINT": ENDPOINT,
        },
    )


VM = "/webarenaIndigo/v1/vm"


@pytest.fixture
def stocked(alice: Account) -> None:
    """An account with some of everything the list commands print: an active and a
    DEACTIVE key, instances on a dual-stack and on an IPv6-only plan (uppercase, zero-padded
    IPv6 and a truncated `arpaname` in the API's answer), a firewall, a second API key."""
    keys = [
        alice.post(f"{VM}/sshkey", {"sshName": name, "sshKey": rsa_public(n=i)}).json()
        for i, name in enumerate(["mykey", "old key"])
    ]
    alice.put(f"{VM}/sshkey/{keys[1]['sshKey']['id']}", {"sshKeyStatus": "DEACTIVE"})
    for name, plan in [("web1", 1), ("v6", 13)]:
        made = alice.post(
            f"{VM}/createinstance",
            {
                "sshKeyId": keys[0]["sshKey"]["id"],
                "regionId": 1,
                "osId": 22,
                "instancePlan": plan,
                "instanceName": name,
            },
        )
        assert made.status_code == 201, made.text
    alice.post("/webarenaIndigo/v1/nw/createfirewall", {"name": "fw", "inbound": []})
    assert alice.get("/webarenaIndigo/v1/auth/create/apikey").status_code == 201


@pytest.mark.parametrize("group", ["instance", "sshkey", "firewall", "apikey"])
@pytest.mark.parametrize(
    "options",
    [
        [],
        ["-o", "json"],
        ["-o", "yaml"],
        ["--no-header"],
        ["--columns", "id,os.name,created_at,status"],
        ["--columns=name,instancestatus,ip,arpaname", "--no-header"],
        ["--columns", "ID,Name,nope"],
        ["-ojson", "--columns", "id"],
        ["--output=yaml", "--no-header"],
    ],
)
def test_same_output_as_the_full_command(
    cli: Cli, stocked: None, group: str, options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Errors too: a column unknown to that kind (`nope`, an instance's fields for a key)
    is a usage error from both."""
    full = cli(group, "list", *options)
    code = run_fast([group, "list", *options], cli.env)
    seen = capsys.readouterr()
    assert (code, seen.out, seen.err) == (full.exit_code, full.stdout, full.stderr)


def test_the_shapes_come_through(
    cli: Cli, stocked: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the shapes absorb shows in the dispatcher's output (typer's is the same,
    above)."""
    assert run_fast(["instance", "list", "-o", "json"], cli.env) == 0
    listed = {i["instance_name"]: i for i in json.loads(capsys.readouterr().out)}
    v6 = listed["v6"]
    assert v6["ip"] == str(ipaddress.IPv6Address(v6["ip"]))  # compressed, lower case
    assert v6["arpaname"].endswith(".arena.ne.jp") and v6["id"] == int(v6["id"])
    assert listed["web1"]["os"]["name"] == "Debian12"
    assert listed["web1"]["created_by"] == listed["web1"]["created_by"].strip()
    assert run_fast(["sshkey", "list", "--no-header", "--columns", "name,status"], cli.env) == 0
    assert capsys.readouterr().out.split("\n")[:2] == ["mykey     ACTIVE", "old key   DEACTIVE"]


def test_errors_and_exit_codes(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_fast(["instance", "list", "--profile", "nope"], cli.env)
    assert code == 3 and "no profile 'nope'" in capsys.readouterr().err
    code = run_fast(["instance", "list", "--api-key", "k", "--api-secret", "s"], cli.env)
    err = capsys.readouterr().err
    assert code == 4 and err.startswith("error: Invalid client credentials.")
