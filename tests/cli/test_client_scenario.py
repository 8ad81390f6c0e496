"""`aiiro scenario list|run`: the server's race scenarios through the client CLI, with the
admin token from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aiiro.runtime import Runtime
from tests.api import instance_helpers as ih
from tests.cli.client_env import ENDPOINT, Cli, make_cli
from tests.conftest import Account


@pytest.fixture
def cli(tmp_path: Path, client: TestClient, rt: Runtime, alice: Account) -> Cli:
    return make_cli(
        tmp_path,
        client,
        rt,
        {
            "AIIRO_ENDPOINT": ENDPOINT,
            "IndigoApiKey": alice.api_key,
            "IndigoApiPrivateKey": alice.api_secret,
            "AIIRO_ADMIN_TOKEN": "test-admin-token",
        },
    )


def test_list_shows_the_servers_scenarios(cli: Cli) -> None:
    listed = cli.json("scenario", "list")
    assert [s["name"] for s in listed][:2] == ["power-wrong-state", "destroy-while-running"]
    table = cli.ok("scenario", "list").stdout
    assert table.splitlines()[0].split() == ["NAME", "RACE"]
    assert "quota-storm" in table


def test_run_sets_the_scenario_up(cli: Cli, alice: Account) -> None:
    done = cli.json("scenario", "run", "out-of-stock", "--account", str(alice.id), "--count", "2")
    assert (done["scenario"], isinstance(done["fault_id"], int)) == ("out-of-stock", True)
    key = ih.register_key(alice)
    assert ih.create(alice, key).json()["errorCode"] == "I10059"


def test_run_on_an_instance(cli: Cli, alice: Account) -> None:
    iid = ih.create_id(alice, ih.register_key(alice))
    done = cli.json("scenario", "run", "destroy-while-running", "--instance", str(iid))
    assert done == {"scenario": "destroy-while-running", "instance_id": iid, "sent": "start"}
    assert ih.command(alice, iid, "destroy").json()["errorCode"] == "I10055"


def test_unknown_scenario_and_no_admin_token(cli: Cli) -> None:
    result = cli("scenario", "run", "no-such")
    assert result.exit_code != 0
    assert "No scenario named 'no-such'." in result.stderr
    result = cli("scenario", "list", AIIRO_ADMIN_TOKEN="")
    assert result.exit_code != 0
    assert "admin token" in result.stderr
