"""Small server-wide values kept in the `kv` table (admin token hash, clock offset, seed)."""

from __future__ import annotations

from aiiro.store.db import Database
from aiiro.store.models import KeyValue


def kv_get(db: Database, key: str) -> str | None:
    with db.read() as s:
        row = s.get(KeyValue, key)
        return row.value if row else None


def kv_set(db: Database, key: str, value: str) -> None:
    with db.write() as s:
        s.merge(KeyValue(key=key, value=value))
