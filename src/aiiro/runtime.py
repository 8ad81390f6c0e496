"""The runtime: everything a request or the engine needs, built once per process.

What the emulator controls (clock offset, seed, profile and quota switches) and the
generations of what is cached here (API-key states, fault rules) are the store's
(store/controls.py); `sync()`, called as each request and each engine pass begins, brings
this process's copies up to date whenever the store's version moved: one cheap check when
nothing changed.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from aiiro.catalog import Catalog, load_catalog
from aiiro.clock import Clock
from aiiro.config import Settings
from aiiro.randomness import Randomness, derived
from aiiro.security import SecretHasher, load_or_create_key
from aiiro.store import controls
from aiiro.store.db import Database
from aiiro.store.fault_rules import RuleCache
from aiiro.store.lru import Lru
from aiiro.store.request_log import SQLITE_FILE as REQUEST_LOG_FILE
from aiiro.store.request_log import RequestLog
from aiiro.timing import PROFILES, Timings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class TtlCache:
    """Recently read API-key states, so most requests skip the store.

    An entry is trusted for `ttl` seconds of real time at most; revocations clear the
    cache of every process (Runtime.keys_revoked).
    """

    def __init__(self, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: OrderedDict[Hashable, tuple[Any, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The value put under `key` less than `ttl` seconds ago, or None."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[1] > self._ttl:
            return None
        return entry[0]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = (value, time.monotonic())
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# Bounds of Runtime.fragments (rendered list items, about 2.3 KB each with their keys).
FRAGMENT_ENTRIES = 100_000
FRAGMENT_BYTES = 64 * 1024 * 1024

# `Runtime._synced` before the first sync: equal to no version.
_NEVER = object()


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    rand: Randomness
    hasher: SecretHasher
    catalog: Catalog
    request_log: RequestLog
    key_cache: TtlCache = field(default_factory=TtlCache)
    fault_rules: RuleCache = field(default_factory=RuleCache)
    # Rendered items of lists, each under all it is made of (api/instances.py).
    fragments: Lru[bytes] = field(default_factory=lambda: Lru(FRAGMENT_ENTRIES, FRAGMENT_BYTES))
    # The timing profile in force (timing.py) and whether the gateway quota counts: the
    # settings', or what the emulator controls switched them to.
    profile: str = "fast"
    quota: bool = False
    # This process among those of the server: a seed applied by another process gives
    # this one a stream of its own (no two processes hand out the same values).
    identity: str = field(default_factory=lambda: f"{os.getpid()}:{time.time_ns()}")
    _synced: object = field(default=_NEVER, init=False, repr=False)
    _seen: controls.Controls | None = field(default=None, init=False, repr=False)
    _sync_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def timings(self) -> Timings:
        """The timings of the profile in force now."""
        return PROFILES[self.profile]

    def sync(self, request: bool = False) -> None:
        """This process's copies of the shared state, as the store has it now. At the start
        of a `request`, the store's version is pinned for the rest of it (Database.pin)."""
        version = self.db.pin() if request else self.db.version()
        if version is not None and version == self._synced:
            return
        with self._sync_lock:
            if version is not None and version == self._synced:
                return
            self._take(controls.read(self.db))
            self._synced = version

    def _take(self, now: controls.Controls) -> None:
        seen = self._seen
        # The clock only moves forward (a test may have moved this process's on its own).
        self.clock.set_offset(max(now.clock_offset, self.clock.offset))
        self.profile, self.quota = switched(self.settings, now.switches)
        if seen is None or (now.seed, now.seed_epoch) != (seen.seed, seen.seed_epoch):
            # Applied by another process (this one's own application is `seeded`).
            stream = None if now.seed is None else derived(now.seed, now.seed_epoch, self.identity)
            self.rand.reseed(stream)
        if seen is not None and now.keys != seen.keys:
            self.key_cache.clear()
        if seen is not None and now.faults != seen.faults:
            self.fault_rules.invalidate()
        self._seen = now

    def keys_revoked(self, s: Session) -> None:
        """API keys or accounts lose their power in `s`'s transaction: every process
        forgets the key states and tokens it holds (the cache here at once, and again
        when the change commits; the others on their next request)."""
        controls.bump(s, controls.KEYS)
        self.key_cache.clear()

    def seeded(self, seed: int | None, epoch: int) -> None:
        """This process applied `seed` (epoch `epoch`): its values are the seed's own
        stream, the one a single-process server replays."""
        with self._sync_lock:
            self.rand.reseed(None if seed is None else derived(seed, epoch))
            if self._seen is not None:
                self._seen = replace(self._seen, seed=seed, seed_epoch=epoch)


def switched(settings: Settings, switches: dict[str, Any]) -> tuple[str, bool]:
    """The profile and quota in force: those switched to through /_aiiro/profile, else
    those `aiiro serve` last started with ("over", written on start by emulator/state.py:
    a worker started apart follows the API's settings, not its own); this process's own
    settings when no server has written any."""
    base = switches.get("over") or over(settings)
    quota = switches.get("quota")
    return (
        switches.get("profile") or base["profile"],
        bool(base["quota"] if quota is None else quota),
    )


def over(settings: Settings) -> dict[str, Any]:
    """The start-up settings a switch is made over: the profile and the quota in force."""
    return {"profile": settings.profile, "quota": settings.quota_enabled}


# The store's files: every tenant's data, hashes and instance console passwords.
SQLITE_FILES = tuple(
    name + suffix for name in ("aiiro.db", REQUEST_LOG_FILE) for suffix in ("", "-wal", "-shm")
)


def keep_private(settings: Settings) -> None:
    """The data directory, and the SQLite files in it, for their owner alone (0700/0600).
    SQLite gives the -wal and -shm files the main file's mode, so the main file is made
    0600 before SQLite first opens it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)
    if settings.database_url:
        return
    for name in ("aiiro.db", REQUEST_LOG_FILE):
        main = settings.data_dir / name
        if not main.exists():
            os.close(os.open(main, os.O_WRONLY | os.O_CREAT, 0o600))
    for name in SQLITE_FILES:
        path = settings.data_dir / name
        if path.exists():
            path.chmod(0o600)


def build_runtime(settings: Settings, db: Database | None = None) -> Runtime:
    keep_private(settings)
    db = db or Database(settings.effective_database_url, lock_wait_s=settings.lock_wait_s)
    clock = Clock()
    return Runtime(
        settings=settings,
        db=db,
        clock=clock,
        rand=Randomness(settings.seed),
        hasher=SecretHasher(load_or_create_key(settings.secret_key, settings.data_dir)),
        catalog=load_catalog(settings.catalog_file),
        request_log=RequestLog(db, clock),
        profile=settings.profile,
        quota=settings.quota_enabled,
    )
