"""The fault rules as stored (`fault_rules` rows), and the cache every request reads them
through: a request with no rule to match costs no query. What the rules do is the domain's
(domain/faults.py); how they are made and listed, the emulator controls' (emulator/).

Whoever changes the rules calls `RuleCache.changed` in the same transaction: that drops
this process's copy and, through the stored generation (store/controls.py), every other
process's on its next request."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aiiro.store import controls
from aiiro.store.db import Database
from aiiro.store.models import FaultRule


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
    """The live (unspent) rules, read again after an invalidation."""

    def __init__(self) -> None:
        self._rules: list[Rule] | None = None
        self._lock = threading.Lock()
        self._generation = 0

    def rules(self, db: Database) -> list[Rule]:
        rules = self._rules
        if rules is not None:
            return rules
        generation = self._generation
        with db.read() as s:
            rows = s.scalars(select(FaultRule).order_by(FaultRule.id))
            fresh = [r for r in map(Rule.of, rows) if not r.spent]
        with self._lock:
            if generation == self._generation:  # not invalidated while reading
                self._rules = fresh
        return fresh

    def invalidate(self) -> None:
        with self._lock:
            self._rules = None
            self._generation += 1

    def changed(self, s: Session) -> None:
        """The rules change in `s`'s transaction: every process reads them again."""
        controls.bump(s, controls.FAULTS)
        self.invalidate()
