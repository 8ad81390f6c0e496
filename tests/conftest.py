"""Shared fixtures: an in-process aiiro (SQLite by default, PostgreSQL where a test asks
for both), accounts with credentials, and an authenticated client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from aiiro.config import Settings
from aiiro.domain import accounts
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime
from aiiro.serve import build_app

POSTGRES_URL = os.environ.get(
    "AIIRO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("AIIRO_TEST_REQUIRE_POSTGRES") == "1"

# Under CI=true a skip is a failure (tests/ci_skips.py).
pytest_plugins = ["tests.ci_skips"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_databases") is not None
        metafunc.parametrize(
            "database_url", ["sqlite", "postgresql"] if both else ["sqlite"], indirect=True
        )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_databases: run on SQLite and on PostgreSQL")


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'aiiro.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        if REQUIRE_POSTGRES:
            raise
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        profile="instant",
        admin_token="test-admin-token",
        worker=False,
        seed=None,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    application = build_app(settings)
    yield application
    application.state.runtime.db.dispose()


@pytest.fixture
def rt(app: Any) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://aiiro.test") as c:
        yield c


@dataclass
class Account:
    """An account with credentials, and a client that sends its bearer token."""

    id: int
    api_key: str
    api_secret: str
    token: str
    http: TestClient

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, headers={**self.auth, **kw.pop("headers", {})}, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, headers={**self.auth, **kw.pop("headers", {})}, **kw)

    def post(
        self, path: str, body: Any = None, raw: str | None = None, **kw: Any
    ) -> httpx.Response:
        """POST like the seed's curl: a JSON body with no Content-Type header."""
        content = raw if raw is not None else (None if body is None else _dumps(body))
        return self.http.post(
            path, content=content, headers={**self.auth, **kw.pop("headers", {})}, **kw
        )

    def put(self, path: str, body: Any = None, raw: str | None = None, **kw: Any) -> httpx.Response:
        content = raw if raw is not None else (None if body is None else _dumps(body))
        return self.http.put(
            path, content=content, headers={**self.auth, **kw.pop("headers", {})}, **kw
        )


def _dumps(body: Any) -> str:
    import json

    return json.dumps(body)


def make_account(rt: Runtime, client: TestClient, name: str = "Test User") -> Account:
    with rt.db.write() as s:
        acct = accounts.create_account(rt, s, name)
        key = accounts.create_api_key(rt, s, acct.id)
    r = client.post(
        "/oauth/v1/accesstokens",
        json={
            "grantType": "client_credentials",
            "clientId": key.api_key,
            "clientSecret": key.api_secret,
            "code": "",
        },
    )
    assert r.status_code == 201, r.text
    return Account(acct.id, key.api_key, key.api_secret, r.json()["accessToken"], client)


@pytest.fixture
def alice(rt: Runtime, client: TestClient) -> Account:
    return make_account(rt, client, "Alice Example")


@pytest.fixture
def bob(rt: Runtime, client: TestClient) -> Account:
    return make_account(rt, client, "Bob Example")


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": "Bearer test-admin-token"}


@pytest.fixture
def engine(app: Any) -> Engine:
    """The app's engine (without a worker thread: each request runs what fell due)."""
    found: Engine = app.state.engine
    return found
