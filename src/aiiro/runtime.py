"""The runtime: everything a request or the engine needs, built once per server."""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiiro.clock import Clock
from aiiro.config import Settings
from aiiro.randomness import Randomness
from aiiro.security import SecretHasher, load_or_create_key
from aiiro.store.db import Database
from aiiro.store.fault_rules import RuleCache

if TYPE_CHECKING:
    from aiiro.domain.catalog import Catalog


class TtlCache:
    """Recently read API-key states, so most requests skip the store.

    An entry is trusted for `ttl` seconds of real time; revocations made in this process
    clear the cache at once, those made by another process are seen within `ttl`.
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


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    rand: Randomness
    hasher: SecretHasher
    catalog: Catalog
    key_cache: TtlCache = field(default_factory=TtlCache)
    fault_rules: RuleCache = field(default_factory=RuleCache)
    # The timing profile in force (timing.py); the emulator controls switch it.
    profile: str = "fast"


# The store's files: every tenant's data, hashes and instance console passwords.
SQLITE_FILES = ("aiiro.db", "aiiro.db-wal", "aiiro.db-shm")


def keep_private(settings: Settings) -> None:
    """The data directory, and the SQLite files in it, for their owner alone (0700/0600).
    SQLite gives the -wal and -shm files the main file's mode, so the main file is made
    0600 before SQLite first opens it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)
    if settings.database_url:
        return
    main = settings.data_dir / SQLITE_FILES[0]
    if not main.exists():
        os.close(os.open(main, os.O_WRONLY | os.O_CREAT, 0o600))
    for name in SQLITE_FILES:
        path = settings.data_dir / name
        if path.exists():
            path.chmod(0o600)


def build_runtime(settings: Settings, db: Database | None = None) -> Runtime:
    from aiiro.domain.catalog import load_catalog

    keep_private(settings)
    db = db or Database(settings.effective_database_url, lock_wait_s=settings.lock_wait_s)
    return Runtime(
        settings=settings,
        db=db,
        clock=Clock(),
        rand=Randomness(settings.seed),
        hasher=SecretHasher(load_or_create_key(settings.secret_key, settings.data_dir)),
        catalog=load_catalog(settings.catalog_file),
        profile=settings.profile,
    )
