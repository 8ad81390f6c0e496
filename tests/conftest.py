"""Shared fixtures: an in-process aiiro, accounts with credentials, and an authenticated
client. Every test that touches a store (through `database_url`, `settings`, `app`, a
real `aiiro serve`...) runs on SQLite, and on PostgreSQL too where one is configured."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient

from aiiro.compute.driver import source_networks
from aiiro.config import Settings
from aiiro.domain import accounts
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime
from aiiro.serve import build_app
from aiiro.store.db import Database
from aiiro.store.models import Base

# The PostgreSQL half runs where AIIRO_TEST_POSTGRES_URL names a server, and always in CI
# (CI=true), where a PostgreSQL that does not answer fails the run instead of skipping.
REQUIRE_POSTGRES = os.environ.get("CI") == "true"
POSTGRES_URL = os.environ.get("AIIRO_TEST_POSTGRES_URL") or (
    "postgresql+psycopg://postgres@127.0.0.1:5432/test" if REQUIRE_POSTGRES else ""
)
DATABASES = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]

# Under CI=true a skip is a failure (tests/ci_skips.py).
pytest_plugins = ["tests.ci_skips"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that touches a store runs once per database (`database`): SQLite only
    where marked `sqlite_only`, PostgreSQL only where marked `postgresql_only` (tests of
    several processes on one database: not run where no PostgreSQL is configured)."""
    if "database" in metafunc.fixturenames:
        marked = metafunc.definition.get_closest_marker
        kinds = DATABASES
        if marked("sqlite_only") is not None:
            kinds = ["sqlite"]
        elif marked("postgresql_only") is not None:
            kinds = [k for k in DATABASES if k == "postgresql"]
        metafunc.parametrize("database", kinds, indirect=True)


@pytest.fixture(autouse=True)
def _fresh_source_networks() -> None:
    """Each test reads its firewall sources anew, not from what an earlier test (or the
    unmutated run `make mutation` forks its mutant runs from) left in the cache."""
    source_networks.cache_clear()


@pytest.fixture
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """ "sqlite" or "postgresql": the parameter every store-backed test runs under. Every
    store handle the test opened is closed after it (an app's lifespan leaves its store
    open): on PostgreSQL each holds connections and a listening thread until then."""
    kind: str = request.param
    opened: list[Database] = []
    init = Database.__init__

    def recorded(self: Database, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(Database, "__init__", recorded)
    yield kind
    for db in opened:
        db.dispose()


def schema_url(schema: str) -> str:
    """POSTGRES_URL with `schema` as the search path (how the store is told its schema)."""
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def postgres_schema() -> Iterator[tuple[SqlEngine, str]]:
    """A new, empty schema (dropped afterwards) and an engine on the server."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, poolclass=NullPool)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        admin.dispose()
        if REQUIRE_POSTGRES:
            raise
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    try:
        yield admin, schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating costs ~0.5 s a test)."""
    path = tmp_path_factory.mktemp("migrated") / "aiiro.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()  # the last connection to close folds the WAL into the file
    return path


@dataclass
class KeptSchema:
    """A migrated PostgreSQL schema kept for the tests of one process (an xdist worker)
    and emptied before each: creating and migrating a schema costs about a second."""

    url: str
    admin: SqlEngine
    emptying: str

    def empty(self) -> None:
        with self.admin.begin() as conn:
            conn.exec_driver_sql(self.emptying)


@pytest.fixture(scope="session")
def _postgres_schema() -> Iterator[KeptSchema]:
    with postgres_schema() as (admin, schema):
        db = Database(schema_url(schema))
        db.upgrade()
        db.dispose()
        # As new: the migrated tables without rows (children before parents, for the
        # foreign keys), no table made on first use (the request log's), every id
        # counting from 1 again. A lock left by a previous test's server fails this
        # rather than hang the run.
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        kept = ", ".join(f"'{t}'" for t in [*tables, "alembic_version"])
        emptying = f"""
            SET LOCAL lock_timeout = '20s';
            DO $$ DECLARE name text; BEGIN
              FOR name IN SELECT tablename FROM pg_tables
                          WHERE schemaname = '{schema}' AND tablename NOT IN ({kept}) LOOP
                EXECUTE format('DROP TABLE %%I.%%I CASCADE', '{schema}', name);
              END LOOP;
              FOR name IN SELECT sequencename FROM pg_sequences
                          WHERE schemaname = '{schema}' LOOP
                PERFORM setval(format('%%I.%%I', '{schema}', name), 1, false);
              END LOOP;
            END $$;
            {";".join(f'DELETE FROM "{schema}"."{t}"' for t in tables)}
        """
        yield KeptSchema(schema_url(schema), admin, emptying)


@pytest.fixture
def database_url(database: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated store with nothing in it, of the test's database."""
    if database == "sqlite":
        path = tmp_path / "aiiro.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    kept: KeptSchema = request.getfixturevalue("_postgres_schema")
    kept.empty()
    return kept.url


@contextmanager
def empty_store(database: str, directory: Path) -> Iterator[str]:
    """A new database with nothing in it, not even tables (a server given it migrates
    it): SQLite, a file in `directory`; PostgreSQL, a schema of its own, dropped after."""
    if database == "sqlite":
        yield f"sqlite:///{directory / f'store-{uuid.uuid4().hex[:8]}.db'}"
        return
    with postgres_schema() as (_, schema):
        yield schema_url(schema)


@pytest.fixture
def empty_database_url(database: str, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables) of the test's database, for tests of the store."""
    with empty_store(database, tmp_path) as url:
        yield url


@pytest.fixture
def new_database_url(database: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Further empty databases, a new one each call: for tests of several servers that
    must not share a store."""
    with ExitStack() as made:
        yield lambda: made.enter_context(empty_store(database, tmp_path))


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
