"""The runtime: everything a request or the engine needs, built once per server."""

from __future__ import annotations

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


def build_runtime(settings: Settings, db: Database | None = None) -> Runtime:
    from aiiro.domain.catalog import load_catalog

    settings.data_dir.mkdir(parents=True, exist_ok=True)
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
