"""Credentials carry their endpoint: `~/.webarena_secret` (as `aiiro serve --write-secret`
writes it) read or sourced points the client at that server, and auth and network errors
name the endpoint tried, where it came from, and what to check."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aiiro.runtime import Runtime
from tests.cli.client_env import Cli, make_cli
from tests.conftest import Account

SERVER = "http://127.0.0.1:18092"  # what the secret file names (served in-process here)


@pytest.fixture
def cli(tmp_path: Path, client: TestClient, rt: Runtime) -> Cli:
    return make_cli(tmp_path, client, rt, {})  # nothing in the environment


def secret_file(cli: Cli, alice: Account) -> Path:
    path = Path(cli.env.where().home) / ".webarena_secret"
    path.write_text(
        f"export IndigoApiKey={alice.api_key}\n"
        f"export IndigoApiPrivateKey={alice.api_secret}\n"
        f"export AIIRO_ENDPOINT={SERVER}\n"
    )
    return path


def test_the_secret_file_names_the_server(cli: Cli, alice: Account) -> None:
    secret_file(cli, alice)
    listing = cli.ok("instance", "list", "--dry-run").stdout
    assert listing.startswith(f"GET {SERVER}/webarenaIndigo/v1/vm/getinstancelist\n")
    assert cli.json("token")["endpoint"] == SERVER
    assert cli.json("instance", "list") == []


def test_a_refused_token_names_the_endpoint_and_the_credentials(cli: Cli, alice: Account) -> None:
    path = secret_file(cli, alice)
    wrong = cli("instance", "list", IndigoApiKey="unknown", IndigoApiPrivateKey="nope")
    assert wrong.exit_code == 4
    # The variables win over the file for the credentials; the file still names the server.
    assert wrong.stderr == (
        f"error: Invalid client credentials. Endpoint {SERVER} (from {path}); credentials "
        "from IndigoApiKey in the environment. (HTTP 401, POST /oauth/v1/accesstokens)\n"
        "hint: check that the API key and secret belong to this endpoint (`aiiro profile "
        "show`, `aiiro configure`)\n"
    )


def test_credentials_without_an_endpoint_say_the_default_is_the_real_service(cli: Cli) -> None:
    """The walkthrough's exports alone (no AIIRO_ENDPOINT): the client tries the real
    service, and says so. (The in-process server answers for it here.)"""
    wrong = cli("instance", "list", IndigoApiKey="local-key", IndigoApiPrivateKey="secret")
    assert wrong.exit_code == 4
    assert wrong.stderr == (
        "error: Invalid client credentials. Endpoint https://api.customer.jp (the default: "
        "the real Indigo service); credentials from IndigoApiKey in the environment. "
        "(HTTP 401, POST /oauth/v1/accesstokens)\n"
        "hint: no endpoint was named, so the client tried the real Indigo service; for an "
        "aiiro server `source ~/.webarena_secret` (`aiiro serve --write-secret` writes its "
        "endpoint there), export AIIRO_ENDPOINT, or pass --endpoint\n"
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_connection_refused_says_what_to_check(cli: Cli, alice: Account) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    cli.ok(
        "configure",
        "--profile",
        "local",
        "--endpoint",
        endpoint,
        "--api-key",
        alice.api_key,
        "--api-secret",
        alice.api_secret,
    )
    cli.env = cli.env._replace(transport=None)  # the real transport (http.client)
    refused = cli("instance", "show", "web1")
    assert refused.exit_code == 9
    assert refused.stderr == (
        f"error: POST {endpoint}/oauth/v1/accesstokens: [Errno 111] Connection refused. "
        f"Endpoint {endpoint} (from profile 'local').\n"
        "hint: nothing listens there: is `aiiro serve` running? check --endpoint / the "
        "profile\n"
    )


def test_half_a_pair_says_where_the_other_half_is(cli: Cli, alice: Account) -> None:
    cli.ok(
        "configure",
        "--profile",
        "work",
        "--endpoint",
        SERVER,
        "--api-key",
        alice.api_key,
        "--api-secret",
        alice.api_secret,
    )
    mixed = cli("instance", "list", "--api-secret", "wrong")
    assert mixed.exit_code == 3
    assert mixed.stderr == (
        "error: an API secret was given without its key\n"
        "hint: give the API key too (--api-key) (the credentials in force come from profile "
        "'work'): a key and its secret always come from one place\n"
    )
