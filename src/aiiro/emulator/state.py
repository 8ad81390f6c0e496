"""Emulator state that survives a restart: the clock offset and the seed.

Both live in the `kv` table. Values a server has handed out stay taken (API keys and
tokens survive a reset), so applying a seed must never replay a sequence this store has
already drawn from. Each application of a seed (on `POST /_aiiro/seed`, and on every start
while a seed is in force) therefore draws from a stream derived from the seed and a
counter kept in the store: two fresh servers that go through the same steps produce the
same values, and one server never produces a value twice.
"""

from __future__ import annotations

import hashlib

from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime
from aiiro.store.kv import kv_get
from aiiro.store.models import KeyValue
from aiiro.timing import Timings, profile_named

CLOCK_OFFSET = "clock_offset"
SEED = "emulator_seed"
SEED_EPOCH = "emulator_seed_epoch"


def restore(rt: Runtime) -> None:
    """On start: the clock where it was; the seed in force (AIIRO_SEED, else the stored one)."""
    offset = kv_get(rt.db, CLOCK_OFFSET)
    if offset is not None:
        rt.clock.set_offset(max(float(offset), rt.clock.offset))
    seed = rt.settings.seed if rt.settings.seed is not None else current_seed(rt)
    if seed is not None:
        set_seed(rt, seed)


def advance_clock(rt: Runtime, seconds: float) -> None:
    rt.clock.advance(seconds)
    with rt.db.write() as s:
        s.merge(KeyValue(key=CLOCK_OFFSET, value=repr(rt.clock.offset)))


def current_seed(rt: Runtime) -> int | None:
    raw = kv_get(rt.db, SEED)
    return None if raw in (None, "") else int(raw)


def set_seed(rt: Runtime, seed: int | None) -> int:
    """Apply `seed` (None: unpredictable values again); the epoch it was applied in."""
    with rt.db.write() as s:
        row = s.get(KeyValue, SEED_EPOCH)
        epoch = 0 if row is None else int(row.value) + 1
        s.merge(KeyValue(key=SEED_EPOCH, value=str(epoch)))
        s.merge(KeyValue(key=SEED, value="" if seed is None else str(seed)))
    rt.rand.reseed(None if seed is None else derived(seed, epoch))
    return epoch


def derived(seed: int, epoch: int) -> int:
    digest = hashlib.sha256(f"aiiro:{seed}:{epoch}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def set_profile(rt: Runtime, engine: Engine, name: str) -> Timings:
    """Switch this process to another timing profile. Steps under way are re-timed at
    once: each waiting operation is checked again and judged by the new durations."""
    timings = profile_named(name)
    rt.profile = name
    engine.retime()
    return timings
