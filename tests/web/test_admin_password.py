"""`aiiro admin account password`: a control-panel login for an account made by the
operator (the first account, or any made with `aiiro admin account create`)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from aiiro.cli.app import app
from aiiro.config import Settings
from aiiro.serve import build_app
from tests.web.conftest import Visitor

runner = CliRunner()


def store(data: Path, database_url: str) -> list[str]:
    return ["--data-dir", str(data), "--database-url", database_url]


def test_an_operator_made_account_gets_a_panel_login(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    made = runner.invoke(
        app, ["admin", "account", "create", "--name", "Ops", *store(data, database_url)]
    )
    assert made.exit_code == 0, made.output
    account_id = json.loads(made.output)["account"]["id"]
    done = runner.invoke(
        app,
        [
            "admin",
            "account",
            "password",
            str(account_id),
            "--email",
            "Ops@Example.com",
            "--data-dir",
            str(data),
            "--database-url",
            database_url,
        ],
        input="long enough pw\nlong enough pw\n",
    )
    assert done.exit_code == 0, done.output
    assert "ops@example.com" in done.output

    served = build_app(
        Settings(
            data_dir=data,
            database_url=database_url,
            profile="instant",
            worker=False,
            admin_token="panel-admin-token",
        )
    )
    try:
        v = Visitor(served)
        r = v.sign_in("ops@example.com", "long enough pw")
        assert (r.status_code, r.headers["location"]) == (303, "/panel/instances")
    finally:
        served.state.runtime.db.dispose()


def test_refusals(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    missing = runner.invoke(
        app,
        [
            "admin",
            "account",
            "password",
            "99",
            "--email",
            "a@example.com",
            *store(data, database_url),
        ],
        input="long enough pw\nlong enough pw\n",
    )
    assert missing.exit_code == 1 and "no account 99" in missing.output
    runner.invoke(app, ["admin", "account", "create", "--name", "X", *store(data, database_url)])
    short = runner.invoke(
        app,
        [
            "admin",
            "account",
            "password",
            "1",
            "--email",
            "a@example.com",
            *store(data, database_url),
        ],
        input="short\nshort\n",
    )
    assert short.exit_code == 1 and "8 to 1024 characters" in short.output
