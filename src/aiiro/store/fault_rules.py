"""The fault rules as stored (`fault_rules` rows), and the cache every request reads them
through: a request with no rule to match costs no query. What the rules do is the domain's
(domain/faults.py); how they are made and listed, the emulator controls' (emulator/)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from aiiro.store.db import Database
from aiiro.store.models import FaultRule

# Rules changed by another process are seen within this many seconds; changes made through
# this process are seen at once.
CACHE_TTL_S = 1.0


@dataclass(frozen=True)
class Rule:
    id: int
    operation: str
    action: str
    params: dict[str, Any]
    probability: float | None
    remaining: int | None
    account_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, row: FaultRule) -> Rule:
        return cls(
            row.id,
            row.operation,
            row.action,
            json.loads(row.params or "{}"),
            row.probability,
            row.remaining,
            row.account_id,
            row.created_at,
        )

    def applies_to(self, account_id: int | None) -> bool:
        return self.account_id is None or self.account_id == account_id

    @property
    def spent(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


class RuleCache:
    """The live (unspent) rules, read again after CACHE_TTL_S or an invalidation."""

    def __init__(self) -> None:
        self._rules: list[Rule] | None = None
        self._loaded = 0.0
        self._lock = threading.Lock()

    def rules(self, db: Database) -> list[Rule]:
        rules = self._rules
        if rules is not None and time.monotonic() - self._loaded < CACHE_TTL_S:
            return rules
        with db.read() as s:
            rows = s.scalars(select(FaultRule).order_by(FaultRule.id))
            fresh = [r for r in map(Rule.of, rows) if not r.spent]
        with self._lock:
            self._rules, self._loaded = fresh, time.monotonic()
        return fresh

    def invalidate(self) -> None:
        with self._lock:
            self._rules = None
