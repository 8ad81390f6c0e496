"""The emulator's controls, changed: the clock, the seed, the profile and quota switches.

They are the store's (store/controls.py), shared by every process of the server; each
change is written in a transaction and then taken by this process at once (the others
take it on their next request, Runtime.sync).

Values a server has handed out stay taken (API keys and tokens survive a reset), so
applying a seed must never replay a sequence this store has already drawn from. Each
application of a seed (on `POST /_aiiro/seed`, and on every start while a seed is in
force) therefore draws from a stream derived from the seed and a count kept in the store:
two fresh servers that go through the same steps produce the same values, and one server
never produces a value twice.
"""

from __future__ import annotations

import json

from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime, over
from aiiro.store import controls
from aiiro.store.models import KeyValue
from aiiro.timing import Timings, profile_named


def restore(rt: Runtime) -> None:
    """On the start of `aiiro serve`: the shared state as stored; the seed in force
    applied again (AIIRO_SEED, else the stored one); switches made over other start-up
    settings forgotten (the operator's new choice wins, in every process: workers and
    other API processes follow the settings written here)."""
    rt.sync()
    stored = controls.read(rt.db)
    if stored.switches.get("over") != over(rt.settings):
        with rt.db.write() as s:
            controls.put(s, controls.SWITCHES, json.dumps({"over": over(rt.settings)}))
    seed = rt.settings.seed if rt.settings.seed is not None else stored.seed
    if seed is not None and not rt.settings.loopback_only:
        # A seed left by a test run on loopback would make this exposed server's keys
        # and tokens predictable: forgotten (AIIRO_SEED itself is refused before this).
        seed = None
        set_seed(rt, None)
    if seed is not None:
        set_seed(rt, seed)
    rt.sync()


def advance_clock(rt: Runtime, seconds: float) -> None:
    if seconds < 0:
        raise ValueError("the clock only moves forward")
    with rt.db.write() as s:
        offset = controls.advance(s, seconds)
    rt.clock.set_offset(offset)
    rt.sync()


def current_seed(rt: Runtime) -> int | None:
    return controls.read(rt.db).seed


def set_seed(rt: Runtime, seed: int | None) -> int:
    """Apply `seed` (None: unpredictable values again); the epoch it was applied in."""
    with rt.db.write() as s:
        epoch = controls.next_epoch(s)
        controls.put(s, controls.SEED, "" if seed is None else str(seed))
    rt.seeded(seed, epoch)
    rt.sync()
    return epoch


def switch(rt: Runtime, engine: Engine | None, profile: str | None, quota: bool | None) -> Timings:
    """Switch the timing profile and/or the quota, for every process, until the next
    switch or a start with other settings. Steps under way are re-timed at once: each
    waiting operation is checked again and judged by the new durations."""
    if profile is not None:
        profile_named(profile)  # ValueError for an unknown one
    with rt.db.write() as s:
        row = s.get(KeyValue, controls.SWITCHES, with_for_update=True)
        switches = json.loads(row.value) if row is not None else {}
        switches.setdefault("over", over(rt.settings))
        if profile is not None:
            switches["profile"] = profile
        if quota is not None:
            switches["quota"] = quota
        controls.put(s, controls.SWITCHES, json.dumps(switches))
    rt.sync()
    if profile is not None and engine is not None:
        engine.retime()
    return profile_named(rt.profile)
