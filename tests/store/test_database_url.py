"""Which database a server uses, from AIIRO_DATABASE_URL and the data dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from aiiro.config import Settings
from aiiro.store.db import Database
from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES


def test_without_a_url_it_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="")
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'aiiro.db'}"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:p@db:5432/aiiro", "postgresql+psycopg://u:p@db:5432/aiiro"),
        ("postgres://u@db/aiiro", "postgresql+psycopg://u@db/aiiro"),
        ("postgresql+psycopg://u@db/aiiro", "postgresql+psycopg://u@db/aiiro"),
        ("sqlite:////srv/aiiro.db", "sqlite:////srv/aiiro.db"),
    ],
)
def test_plain_postgresql_urls_use_psycopg_3(tmp_path: Path, given: str, used: str) -> None:
    assert Settings(data_dir=tmp_path, database_url=given).effective_database_url == used


def test_the_url_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIIRO_DATABASE_URL", "postgresql://x@h/d")
    assert Settings(data_dir=tmp_path).effective_database_url == "postgresql+psycopg://x@h/d"


def test_a_plain_postgresql_url_connects(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL configured (AIIRO_TEST_POSTGRES_URL)")
    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    db = Database(Settings(data_dir=tmp_path, database_url=plain).effective_database_url)
    try:
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    except Exception as exc:  # pragma: no cover - depends on the machine
        if not REQUIRE_POSTGRES and "connection" in str(exc).lower():
            pytest.skip(f"PostgreSQL not reachable: {exc}")
        raise
    finally:
        db.dispose()
