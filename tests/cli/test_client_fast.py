"""The fast path serves plain list commands and prints exactly what the full command
prints; anything else goes to the full command."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aiiro.cli.client.fast import parse, run_fast
from aiiro.runtime import Runtime
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


@pytest.mark.parametrize("group", ["instance", "sshkey", "firewall", "apikey"])
@pytest.mark.parametrize("options", [[], ["-o", "json"], ["-o", "yaml"], ["--no-header"]])
def test_same_output_as_the_full_command(
    cli: Cli, group: str, options: list[str], capsys: pytest.CaptureFixture[str], alice: Account
) -> None:
    alice.post("/webarenaIndigo/v1/nw/createfirewall", {"name": "fw", "inbound": []})
    full = cli.ok(group, "list", *options).stdout
    assert run_fast([group, "list", *options], cli.env) == 0
    assert capsys.readouterr().out == full


def test_errors_and_exit_codes(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_fast(["instance", "list", "--profile", "nope"], cli.env)
    assert code == 3 and "no profile 'nope'" in capsys.readouterr().err
    code = run_fast(["instance", "list", "--api-key", "k", "--api-secret", "s"], cli.env)
    err = capsys.readouterr().err
    assert code == 4 and err.startswith("error: Invalid client credentials.")
