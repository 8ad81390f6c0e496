"""`aiiro configure` and named profiles; precedence flags > environment > profile."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aiiro.runtime import Runtime
from tests.cli.client_env import ENDPOINT, Cli, make_cli
from tests.conftest import Account, make_account


@pytest.fixture
def cli(tmp_path: Path, client: TestClient, rt: Runtime) -> Cli:
    return make_cli(tmp_path, client, rt, {})  # no credentials in the environment


def test_configure_writes_a_private_profile(cli: Cli, alice: Account) -> None:
    out = cli.ok(
        "configure",
        "--profile",
        "local",
        "--endpoint",
        ENDPOINT,
        "--api-key",
        alice.api_key,
        "--api-secret",
        alice.api_secret,
        "--ssh-user",
        "me",
    )
    path = cli.env.where().profile_file
    assert f"profile 'local' saved in {path} (default)" in out.stdout
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert cli.json("instance", "list") == []  # the default profile is used
    shown = cli.ok("profile", "show").stdout
    assert "[local] (default)" in shown and f"api_key = {alice.api_key}" in shown
    assert alice.api_secret not in shown and "ssh_user = me" in shown
    assert cli.ok("profile", "list").stdout.splitlines() == [
        "NAME    ENDPOINT            DEFAULT",
        f"local   {ENDPOINT}   yes",
    ]
    assert cli.json("profile", "list") == [{"name": "local", "endpoint": ENDPOINT, "default": True}]


def test_configure_check_and_missing_values(cli: Cli, alice: Account) -> None:
    bad = cli("configure", "--endpoint", ENDPOINT)
    assert bad.exit_code == 3 and "--api-key" in bad.stderr
    ok = cli.ok(
        "configure",
        "--endpoint",
        ENDPOINT,
        "--api-key",
        alice.api_key,
        "--api-secret",
        alice.api_secret,
        "--check",
    )
    assert "credentials work: token valid for 3599 s" in ok.stdout


def test_configure_prompts_in_a_terminal(cli: Cli, alice: Account) -> None:
    cli.env = cli.env._replace(interactive=True)
    answers = f"{ENDPOINT}\n{alice.api_key}\n{alice.api_secret}\n"
    result = cli("configure", "--profile", "asked", input=answers)
    assert result.exit_code == 0, result.stderr
    assert cli.json("apikey", "list")[0]["api_key"] == alice.api_key


def test_precedence_flags_then_environment_then_profile(
    cli: Cli, rt: Runtime, client: TestClient, alice: Account
) -> None:
    bob = make_account(rt, client, "Bob Example")
    cli.ok(
        "configure",
        "--profile",
        "alice",
        "--endpoint",
        ENDPOINT,
        "--api-key",
        alice.api_key,
        "--api-secret",
        alice.api_secret,
    )
    cli.ok(
        "configure",
        "--profile",
        "bob",
        "--endpoint",
        ENDPOINT,
        "--api-key",
        bob.api_key,
        "--api-secret",
        bob.api_secret,
        "--not-default",
    )

    def whose(*args: str, **env: str) -> str:
        """Whose keys `apikey list` shows: which credentials were used."""
        keys = [k["api_key"] for k in cli.json("apikey", "list", *args, **env)]
        return "alice" if alice.api_key in keys else "bob" if bob.api_key in keys else "?"

    assert whose() == "alice"  # the default profile
    bob_env = {"IndigoApiKey": bob.api_key, "IndigoApiPrivateKey": bob.api_secret}
    assert whose(**bob_env) == "bob"  # environment beats the default profile
    assert whose("--profile", "alice", **bob_env) == "alice"  # a named profile is a flag
    assert (
        whose("--api-key", alice.api_key, "--api-secret", alice.api_secret, **bob_env) == "alice"
    )  # flags beat the environment
    assert whose(AIIRO_CLIENT_PROFILE="bob") == "bob"
    cli.ok("profile", "use", "bob")
    assert whose() == "bob"
    cli.ok("profile", "delete", "bob")
    assert whose() == "alice"
    unknown = cli("instance", "list", "--profile", "nope")
    assert unknown.exit_code == 3 and "no profile 'nope'" in unknown.stderr


def test_seed_secret_file_is_read(cli: Cli, alice: Account) -> None:
    home = Path(cli.env.where().home)
    (home / ".webarena_secret").write_text(
        f"export IndigoApiKey={alice.api_key}\nexport IndigoApiPrivateKey={alice.api_secret}\n"
    )
    assert cli.json("instance", "list", "--endpoint", ENDPOINT) == []
