"""What a server bound beyond loopback gives away: sign-up closed unless the operator opens
it, /_aiiro/ to loopback (and the networks the operator names) only, no seed, the data
directory for its owner alone."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from aiiro.config import Settings
from aiiro.serve import build_app

ADMIN = {"Authorization": "Bearer test-admin-token"}


def app_for(tmp_path: Path, database_url: str = "", **changes: Any) -> Any:
    return build_app(
        Settings(
            data_dir=tmp_path / "data",
            database_url=database_url,
            profile="instant",
            admin_token="test-admin-token",
            worker=False,
            **changes,
        )
    )


@pytest.mark.parametrize(
    ("host", "signup", "open_"),
    [
        ("127.0.0.1", None, True),
        ("::1", None, True),
        ("localhost", None, True),
        ("0.0.0.0", None, False),
        ("192.0.2.10", None, False),
        ("0.0.0.0", True, True),
        ("127.0.0.1", False, False),
    ],
)
def test_sign_up_is_open_on_loopback_only_unless_the_operator_says(
    host: str, signup: bool | None, open_: bool
) -> None:
    assert Settings(host=host, panel_signup=signup).signup_open is open_


def test_a_closed_sign_up_is_refused(tmp_path: Path, database_url: str) -> None:
    app = app_for(tmp_path, database_url, host="0.0.0.0")
    with TestClient(app, base_url="http://aiiro.test") as c:
        page = c.get("/panel/signin")  # (a closed sign-up page shows no form)
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        r = c.post(
            "/panel/signup",
            data={"name": "Mallory", "email": "m@example.com", "password": "x" * 12, "csrf": csrf},
        )
    assert r.status_code == 403


def test_the_controls_answer_loopback_and_the_named_networks_only(
    tmp_path: Path, database_url: str
) -> None:
    app = app_for(tmp_path, database_url, host="0.0.0.0", admin_networks="10.1.0.0/16")
    for peer, status in (("127.0.0.1", 200), ("10.1.2.3", 200), ("203.0.113.9", 403)):
        with TestClient(app, base_url="http://aiiro.test", client=(peer, 40000)) as c:
            r = c.get("/_aiiro/accounts", headers=ADMIN)
            assert r.status_code == status, peer
            if status == 403:
                assert r.json() == {
                    "success": False,
                    "errorMessage": "The emulator controls answer on loopback only.",
                    "errorCode": "A4103",
                }
                assert c.get("/_aiiro/health").status_code == 200  # health answers everyone


def test_no_seed_beyond_loopback(tmp_path: Path, database_url: str) -> None:
    app = app_for(tmp_path, database_url, host="0.0.0.0")
    with TestClient(app, base_url="http://aiiro.test") as c:
        r = c.post("/_aiiro/seed", json={"seed": 7}, headers=ADMIN)
    assert (r.status_code, r.json()["errorCode"]) == (400, "A4002")


def test_a_seed_left_by_a_loopback_run_is_forgotten_when_the_server_is_exposed(
    tmp_path: Path, database_url: str
) -> None:
    local = app_for(tmp_path, database_url)
    with TestClient(local, base_url="http://aiiro.test") as c:
        assert c.post("/_aiiro/seed", json={"seed": 7}, headers=ADMIN).status_code == 200
    local.state.runtime.db.dispose()
    exposed = app_for(tmp_path, database_url, host="0.0.0.0")  # the same store, restarted
    with TestClient(exposed, base_url="http://aiiro.test") as c:
        assert c.get("/_aiiro/seed", headers=ADMIN).json() == {"seed": None}
    exposed.state.runtime.db.dispose()


def test_a_short_admin_token_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(admin_token="short")


def test_the_data_directory_is_its_owners_alone(tmp_path: Path) -> None:
    app = app_for(tmp_path)  # SQLite in the data directory
    with TestClient(app, base_url="http://aiiro.test") as c:
        c.get("/_aiiro/health")
    data = tmp_path / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.iterdir()}
    assert modes["aiiro.db"] == 0o600 and modes["secret.key"] == 0o600
    assert all(mode == 0o600 for name, mode in modes.items() if name.startswith("aiiro.db"))
    app.state.runtime.db.dispose()
