"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from aiiro.store.db import Database
from aiiro.store.migrate import alembic_config
from aiiro.store.models import Base


def schema_diff(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@pytest.mark.both_databases
def test_migrations_match_the_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        db.upgrade()
        assert schema_diff(db) == []
    finally:
        db.dispose()


@pytest.mark.both_databases
def test_upgrading_twice_is_a_no_op(database_url: str) -> None:
    db = Database(database_url)
    try:
        db.upgrade()
        with db.engine.connect() as conn:
            conn.execute(text("INSERT INTO kv (key, value) VALUES ('probe', 'kept')"))
            conn.commit()
        tables = sorted(inspect(db.engine).get_table_names())
        db.upgrade()
        assert sorted(inspect(db.engine).get_table_names()) == tables
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT value FROM kv WHERE key = 'probe'")).scalar() == "kept"
        assert current_revision(db) == head()
    finally:
        db.dispose()


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_there_is_a_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()


def test_the_schema_check_sees_drift(database_url: str) -> None:
    # Guard against a vacuous comparison: a schema that differs must show up.
    db = Database(database_url)
    try:
        db.upgrade()
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE stray (id INTEGER PRIMARY KEY)"))
            conn.execute(text("DROP INDEX ix_ssh_keys_account_id"))
        kinds = {d[0] for d in schema_diff(db)}
        assert {"remove_table", "add_index"} <= kinds
    finally:
        db.dispose()
