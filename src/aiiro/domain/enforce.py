"""Getting a firewall change to the compute driver, durably.

A change to what an instance must enforce (assign, update, create with `instances`) adds an
`apply_firewall` operation for that instance in the same transaction as the change. The
engine runs it (domain/instance_ops.py) through the driver's apply_firewall with the rules
current at that time, so a crash in between loses nothing and a repeat applies the same
rules again.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from aiiro.domain import instances
from aiiro.engine import operations
from aiiro.runtime import Runtime
from aiiro.store.models import Instance

APPLY_FIREWALL = "apply_firewall"


def is_destroyed(instance: Instance) -> bool:
    """Destroyed (or on its way out): it no longer holds on to its template."""
    return not instances.is_active(instance)


def schedule(rt: Runtime, s: Session, instance_ids: Iterable[int]) -> None:
    for instance_id in sorted(set(instance_ids)):
        operations.enqueue(rt, s, APPLY_FIREWALL, instance_id=instance_id)


def after_change(rt: Runtime) -> None:
    """After the commit: wake the engine (or, without a worker, run what is due now)."""
    engine = rt.extras.get("engine")
    if engine is not None:
        engine.kick()
