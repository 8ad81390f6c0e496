"""Fault rules (emulator control). Filled in by the emulator work; the domain calls
`take` at the points where a fault can strike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from aiiro.runtime import Runtime


@dataclass(frozen=True)
class FaultHit:
    action: str
    params: dict[str, Any] = field(default_factory=dict)


def take(rt: Runtime, s: Session, operation: str, account_id: int | None) -> FaultHit | None:
    """The fault that strikes this `operation` now, if any (consuming one count)."""
    return None
