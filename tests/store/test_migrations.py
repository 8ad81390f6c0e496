"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from aiiro.store.db import Database
from aiiro.store.migrate import alembic_config, upgrade
from aiiro.store.models import Base


def schema_diff(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_migrations_match_the_models(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        db.upgrade()
        assert schema_diff(db) == []
    finally:
        db.dispose()


def test_upgrading_twice_is_a_no_op(empty_database_url: str) -> None:
    db = Database(empty_database_url)
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


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()


def test_the_schema_check_sees_drift(empty_database_url: str) -> None:
    # Guard against a vacuous comparison: a schema that differs must show up.
    db = Database(empty_database_url)
    try:
        db.upgrade()
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE stray (id INTEGER PRIMARY KEY)"))
            conn.execute(text("DROP INDEX ix_ssh_keys_account_id"))
        kinds = {d[0] for d in schema_diff(db)}
        assert {"remove_table", "add_index"} <= kinds
    finally:
        db.dispose()


def test_upgrading_from_0001_keeps_every_row_and_ids_are_never_reused(
    empty_database_url: str,
) -> None:
    db = Database(empty_database_url)
    now = "2026-12-01 00:00:00"

    def insert_key(conn: Any, name: str, account: int) -> int:
        conn.execute(
            text(
                "INSERT INTO api_keys (account_id, api_key, secret_hash, created_at) "
                f"VALUES ({account}, '{name}', 'h', '{now}')"
            )
        )
        key_id: int = conn.execute(
            text(f"SELECT id FROM api_keys WHERE api_key = '{name}'")
        ).scalar()
        return key_id

    try:
        upgrade(db.engine, "0001")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO accounts (name, status, created_at) "
                    f"VALUES ('a', 'active', '{now}'), ('b', 'active', '{now}')"
                )
            )
            a, b = conn.execute(text("SELECT id FROM accounts ORDER BY id")).scalars()
            insert_key(conn, "k1", a)
            insert_key(conn, "k2", b)
            # A child with ON DELETE CASCADE: rebuilding `accounts` must not delete it.
            conn.execute(
                text(
                    "INSERT INTO web_sessions "
                    "(token_hash, account_id, created_at, last_seen_at, expires_at) "
                    f"VALUES ('t', {b}, '{now}', '{now}', '{now}')"
                )
            )
        db.upgrade()
        assert schema_diff(db) == []
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM web_sessions")).scalar() == 1
            keys = conn.execute(text("SELECT api_key, token_salt FROM api_keys ORDER BY id"))
            assert [tuple(k) for k in keys] == [("k1", ""), ("k2", "")]
            top = conn.execute(text("SELECT max(id) FROM api_keys")).scalar()
            conn.execute(text(f"DELETE FROM api_keys WHERE id = {top}"))
            assert insert_key(conn, "k3", a) == top + 1  # not the deleted key's id again
    finally:
        db.dispose()


def test_a_write_waits_for_a_lock_a_bounded_time_and_the_url_options_stay(
    database_url: str,
) -> None:
    db = Database(database_url, lock_wait_s=2.5)
    try:
        with db.engine.connect() as conn:
            if db.is_sqlite:
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500
            else:
                assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "2500ms"
                # The test's own schema (the URL's options) is still the search path.
                assert conn.exec_driver_sql("SHOW search_path").scalar().startswith("t_")
    finally:
        db.dispose()
