"""The emulator's controls as stored, one state for every process of a server: the clock
offset, the seed and how often it was applied, the timing-profile and quota switches,
and the generations of what processes keep copies of (API-key states, fault rules).

They are `kv` rows. Runtime.sync reads them all in one query whenever the store's
version moved (db.py), so a change made through any process holds in every process from
its next request on. Writers change them inside their own transactions (`put`, `bump`,
`advance`), so a change and what it is about commit together.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, String, cast, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from aiiro.store.db import Database
from aiiro.store.models import KeyValue

CLOCK_OFFSET = "clock_offset"
SEED = "emulator_seed"
SEED_EPOCH = "emulator_seed_epoch"
# JSON: the profile and quota switched to, and the start-up settings of `aiiro serve`
# they were switched from ("over"): a switch holds until the next switch, or until the
# server is started with other settings (the operator's new choice wins).
SWITCHES = "emulator_switches"
# A new value whenever API keys are revoked (deleted, an account disabled) or fault rules
# change: each process then drops its copies.
KEYS = "generation_keys"
FAULTS = "generation_faults"
KEYS_OF_CONTROLS = (CLOCK_OFFSET, SEED, SEED_EPOCH, SWITCHES, KEYS, FAULTS)


@dataclass(frozen=True)
class Controls:
    clock_offset: float = 0.0
    seed: int | None = None
    seed_epoch: int = 0
    switches: dict[str, Any] = field(default_factory=dict)
    keys: str = ""
    faults: str = ""


def read(db: Database) -> Controls:
    with db.read() as s:
        stored = select(KeyValue.key, KeyValue.value).where(KeyValue.key.in_(KEYS_OF_CONTROLS))
        rows: dict[str, str] = {key: value for key, value in s.execute(stored)}
    seed = rows.get(SEED)
    return Controls(
        clock_offset=float(rows.get(CLOCK_OFFSET) or 0.0),
        seed=None if seed in (None, "") else int(seed),
        seed_epoch=int(rows.get(SEED_EPOCH) or 0),
        switches=json.loads(rows.get(SWITCHES) or "{}"),
        keys=rows.get(KEYS, ""),
        faults=rows.get(FAULTS, ""),
    )


def put(s: Session, key: str, value: str) -> None:
    """Set a row, made if missing (an upsert: two processes making it at once both win)."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(KeyValue).values(key=key, value=value)
    s.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


def bump(s: Session, key: str) -> None:
    """A new generation of `key` (KEYS, FAULTS): every process drops its copies."""
    put(s, key, os.urandom(8).hex())


def advance(s: Session, seconds: float) -> float:
    """Move the stored clock offset on by `seconds`, in one statement (two processes
    advancing at once both count); the new offset."""
    put_default(s, CLOCK_OFFSET, "0")
    moved = s.execute(
        update(KeyValue)
        .where(KeyValue.key == CLOCK_OFFSET)
        .values(value=cast(cast(KeyValue.value, Float) + seconds, String))
        .returning(KeyValue.value)
    ).scalar_one()
    return float(moved)


def next_epoch(s: Session) -> int:
    """Count one more application of a seed; its number (0 for the first)."""
    row = s.get(KeyValue, SEED_EPOCH, with_for_update=True)
    epoch = 0 if row is None else int(row.value) + 1
    put(s, SEED_EPOCH, str(epoch))
    return epoch


def put_default(s: Session, key: str, value: str) -> None:
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(insert(KeyValue).values(key=key, value=value).on_conflict_do_nothing())
