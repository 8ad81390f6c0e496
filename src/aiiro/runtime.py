"""The runtime: everything a request or the engine needs, built once per server."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiiro.config import Settings
from aiiro.engine.clock import Clock
from aiiro.randomness import Randomness
from aiiro.security import SecretHasher, load_or_create_key
from aiiro.store.db import Database

if TYPE_CHECKING:
    from aiiro.domain.accounts import Caller
    from aiiro.domain.catalog import Catalog


class TokenCache:
    """Recently checked tokens, so most requests skip the token lookup.

    An entry is trusted for `ttl` seconds of real time; revocations made in this process
    clear the cache at once, those made by another process are seen within `ttl`.
    """

    def __init__(self, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[Caller, datetime, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> tuple[Caller, datetime] | None:
        entry = self._entries.get(digest)
        if entry is None or time.monotonic() - entry[2] > self._ttl:
            return None
        return entry[0], entry[1]

    def put(self, digest: str, caller: Caller, expires_at: datetime) -> None:
        with self._lock:
            self._entries[digest] = (caller, expires_at, time.monotonic())
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
    token_cache: TokenCache = field(default_factory=TokenCache)
    # Filled in by the engine and compute packages when they are wired up.
    extras: dict[str, Any] = field(default_factory=dict)


def build_runtime(settings: Settings, db: Database | None = None) -> Runtime:
    from aiiro.domain.catalog import load_catalog

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = db or Database(settings.effective_database_url)
    return Runtime(
        settings=settings,
        db=db,
        clock=Clock(),
        rand=Randomness(settings.seed),
        hasher=SecretHasher(load_or_create_key(settings.secret_key, settings.data_dir)),
        catalog=load_catalog(settings.catalog_file),
    )
