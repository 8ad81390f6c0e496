"""`aiiro admin ...` and the help texts, run in-process against a temporary data dir."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from aiiro.cli.app import app
from aiiro.config import Settings
from aiiro.serve import build_app

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_aiiro_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AIIRO_"):
            monkeypatch.delenv(name)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@dataclass
class Store:
    data_dir: Path
    url: str


@pytest.fixture
def store(data_dir: Path, database_url: str) -> Store:
    return Store(data_dir, database_url)


def aiiro(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def admin(store: Store, *args: str | Path) -> Any:
    return aiiro("admin", *args, "--data-dir", store.data_dir, "--database-url", store.url)


def ok_json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def server(store: Store) -> Iterator[TestClient]:
    """An in-process server on the same store, to check what the commands did."""
    application = build_app(
        Settings(data_dir=store.data_dir, database_url=store.url, profile="instant", worker=False)
    )
    try:
        with TestClient(application) as client:
            yield client
    finally:
        application.state.runtime.db.dispose()


def token_status(client: TestClient, key: str, secret: str) -> int:
    r = client.post(
        "/oauth/v1/accesstokens",
        json={"grantType": "client_credentials", "clientId": key, "clientSecret": secret},
    )
    return r.status_code


def test_top_level_help_names_the_commands() -> None:
    result = aiiro("--help")
    assert result.exit_code == 0
    for word in ("serve", "admin", "Indigo"):
        assert word in result.output


def test_no_arguments_shows_help() -> None:
    result = aiiro()
    assert "serve" in result.output and "admin" in result.output


def test_serve_help_lists_its_options_and_their_environment_variables() -> None:
    out = aiiro("serve", "--help").output
    for text in ("--host", "--port", "--data-dir", "--write-secret", "--quota", "AIIRO_HOST",
                 "AIIRO_PORT", "AIIRO_DATA_DIR", "AIIRO_DATABASE_URL"):  # fmt: skip
        assert text in out, text


def test_admin_help_lists_account_and_apikey() -> None:
    out = aiiro("admin", "--help").output
    assert "account" in out and "apikey" in out
    out = aiiro("admin", "account", "--help").output
    for verb in ("create", "list", "disable", "enable"):
        assert verb in out


def test_account_create_prints_a_working_key(store: Store, server: TestClient) -> None:
    out = ok_json(admin(store, "account", "create", "--name", "Carol",
                        "--email", "carol@example.com"))  # fmt: skip
    assert out["account"]["name"] == "Carol"
    assert out["account"]["status"] == "active"
    assert token_status(server, out["apiKey"], out["apiSecret"]) == 201


def test_account_list_shows_every_account(store: Store) -> None:
    ids = [ok_json(admin(store, "account", "create", "--name", n))["account"]["id"]
           for n in ("A", "B")]  # fmt: skip
    listed = ok_json(admin(store, "account", "list", "-o", "json"))
    assert [a["id"] for a in listed] == ids
    assert [a["name"] for a in listed] == ["A", "B"]
    # A table by default, as the client's lists.
    table = admin(store, "account", "list").stdout.splitlines()
    assert table[0].split() == ["ID", "NAME", "EMAIL", "STATUS", "CREATED"]
    assert [line.split()[:4] for line in table[1:]] == [
        [str(ids[0]), "A", "-", "active"],
        [str(ids[1]), "B", "-", "active"],
    ]


def test_a_duplicate_email_is_refused_clearly(store: Store) -> None:
    ok_json(admin(store, "account", "create", "--name", "A", "--email", "a@example.com"))
    result = admin(store, "account", "create", "--name", "B", "--email", "a@example.com")
    assert result.exit_code == 1
    assert "e-mail" in result.stderr
    assert "Traceback" not in result.output


def test_disable_and_enable(store: Store, server: TestClient) -> None:
    made = ok_json(admin(store, "account", "create", "--name", "D"))
    account_id = str(made["account"]["id"])
    assert ok_json(admin(store, "account", "disable", account_id))["status"] == "disabled"
    assert token_status(server, made["apiKey"], made["apiSecret"]) == 401
    assert ok_json(admin(store, "account", "enable", account_id))["status"] == "active"
    assert token_status(server, made["apiKey"], made["apiSecret"]) == 201


def test_disabling_an_unknown_account_fails(store: Store) -> None:
    result = admin(store, "account", "disable", "4242")
    assert result.exit_code == 1
    assert "no account 4242" in result.stderr


def test_apikey_create_writes_the_seed_secret_file(
    store: Store, tmp_path: Path, server: TestClient
) -> None:
    made = ok_json(admin(store, "account", "create", "--name", "E"))
    secret_file = tmp_path / "home" / ".webarena_secret"
    out = ok_json(admin(store, "apikey", "create", "--account", str(made["account"]["id"]),
                        "--write-secret", secret_file))  # fmt: skip
    assert out["accountId"] == made["account"]["id"]
    assert secret_file.read_text() == (
        f"export IndigoApiKey={out['apiKey']}\nexport IndigoApiPrivateKey={out['apiSecret']}\n"
        "export AIIRO_ENDPOINT=http://127.0.0.1:8080\n"  # the server these settings name
    )
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert token_status(server, out["apiKey"], out["apiSecret"]) == 201
    # The account's first key still works too.
    assert token_status(server, made["apiKey"], made["apiSecret"]) == 201


def test_apikey_create_for_an_unknown_account_fails(store: Store) -> None:
    result = admin(store, "apikey", "create", "--account", "99")
    assert result.exit_code == 1
    assert "no account 99" in result.stderr


def test_the_database_url_option_is_honoured(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    made = aiiro("admin", "account", "create", "--name", "F", "--data-dir", tmp_path / "d",
                 "--database-url", url)  # fmt: skip
    assert made.exit_code == 0, made.output
    assert (tmp_path / "elsewhere.db").exists()
    assert not (tmp_path / "d" / "aiiro.db").exists()


def test_the_data_dir_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIIRO_DATA_DIR", str(tmp_path / "from-env"))
    assert aiiro("admin", "account", "create", "--name", "G").exit_code == 0
    assert (tmp_path / "from-env" / "aiiro.db").exists()


def test_a_bad_flag_value_is_one_line_not_a_traceback(data_dir: Path) -> None:
    result = aiiro("serve", "--profile", "bogus", "--data-dir", data_dir)
    assert result.exit_code == 2
    assert "bad setting profile (--profile / AIIRO_PROFILE)" in result.stderr
    assert "Traceback" not in result.output
    assert not data_dir.exists()  # nothing was started or created


def test_a_bad_environment_value_is_reported_by_name(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIIRO_PORT", "eighty")
    result = aiiro("admin", "account", "list", "--data-dir", data_dir)
    assert result.exit_code == 2
    assert "AIIRO_PORT" in result.stderr


def test_the_libvirt_driver_without_its_bindings_is_one_line_before_anything_is_made(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiiro.compute import factory

    found = factory.find_spec
    monkeypatch.setattr(
        factory, "find_spec", lambda name: None if name == "libvirt" else found(name)
    )
    result = aiiro("serve", "--driver", "libvirt", "--data-dir", data_dir)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "aiiro: the libvirt driver needs libvirt-python: apt-get install libvirt-dev "
        "pkg-config, then .venv/bin/pip install -e '.[libvirt]' (docs/operating-a-host.md)"
    ]
    assert result.stdout == ""  # no banner, no key
    assert not data_dir.exists()


def test_upgrade_brings_an_empty_store_to_the_schema_the_server_uses(
    data_dir: Path, empty_database_url: str
) -> None:
    from sqlalchemy import create_engine, inspect

    store = Store(data_dir, empty_database_url)
    result = admin(store, "upgrade")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("schema at revision 0")
    engine = create_engine(empty_database_url)
    try:
        found = inspect(engine)
        tables = set(found.get_table_names())
        columns = {c["name"] for c in found.get_columns("operations")}
    finally:
        engine.dispose()
    assert {"accounts", "instances", "operations", "kv"} <= tables
    assert "lease_until" in columns
    assert admin(store, "upgrade").output == result.output  # again: nothing to do
