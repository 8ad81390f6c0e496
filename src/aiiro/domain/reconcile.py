"""Reconciliation: the power state aiiro shows follows what the compute driver sees.

Commands are how aiiro usually learns that an instance changed. A real machine also changes
on its own: `poweroff` inside the guest, a crash, a host reboot, an operator's `virsh
start`. So the engine looks, from time to time (`Engine.reconcile`, every
`AIIRO_RECONCILE_S`), at the instances that are settled — running, stopped, or a stop that
timed out — and have no operation pending or running, and moves each to what the driver
observes:

    running / stopping (no operation left)  + shutoff or absent  -> stopped
    stopped                                 + running            -> running

Anything else (provisioning, install_failed, a transition in flight) is left to the engine.

A machine whose host does not answer (HostUnreachable) cannot be observed: the instance keeps
its power state, the last one known, and is marked (`unreachable_since`; the list shows it,
decisions.md "Compute hosts"); the first pass that observes it again clears the mark and
applies what it sees. Other errors leave the instance as it is, unmarked: one machine's
trouble, not its host's.
A pass never races a command: the driver is asked outside any transaction, and the change is
a compare-and-set on the instance's version, power state and "no operation" — a command
taken meanwhile bumped the version (or queued an operation), so the command wins and the
next pass looks again. A pass writes only when some power state or mark changes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from aiiro.compute.driver import ComputeDriver, HostUnreachable, InstanceSpec, Observed
from aiiro.domain.lifecycle import Power
from aiiro.domain.specs import spec_of
from aiiro.engine.operations import PENDING, RUNNING
from aiiro.runtime import Runtime
from aiiro.store.models import Instance, Operation

log = logging.getLogger("aiiro.engine")

# Instances observed per pass: bounds the driver calls and the rows read at once; the next
# pass goes on after the last one seen, then starts again from the lowest id.
BATCH = 50

SETTLED = (Power.RUNNING.value, Power.STOPPED.value, Power.STOPPING.value)


@dataclass(frozen=True)
class Change:
    instance_id: int
    was: str
    now: str
    observed: Observed | Literal["unreachable"]


@dataclass(frozen=True)
class _Look:
    instance_id: int
    version: int
    power: str
    unreachable: bool
    spec: InstanceSpec


def follow(power: str, observed: Observed) -> Power | None:
    """Where a settled instance goes when the driver observes `observed`; None: stays.

    A machine that is gone ("absent") while the instance is not destroyed shows Stopped:
    it certainly does not run; a start redefines it where its disk still exists."""
    if power in (Power.RUNNING.value, Power.STOPPING.value) and observed in ("shutoff", "absent"):
        return Power.STOPPED
    if power == Power.STOPPED.value and observed == "running":
        return Power.RUNNING
    return None


def _idle() -> ColumnElement[bool]:
    """No operation of the instance is waiting or being carried out."""
    busy = select(Operation.id).where(
        Operation.instance_id == Instance.id, Operation.state.in_((PENDING, RUNNING))
    )
    return ~busy.exists()


def _candidates(rt: Runtime, s: Session, after_id: int, limit: int) -> list[_Look]:
    rows = s.scalars(
        select(Instance)
        .where(
            Instance.id > after_id,
            Instance.power.in_(SETTLED),
            Instance.removed_at.is_(None),
            _idle(),
        )
        .order_by(Instance.id)
        .limit(limit)
    ).all()
    return [
        _Look(i.id, i.version, i.power, i.unreachable_since is not None, spec_of(rt, s, i))
        for i in rows
    ]


def run_pass(
    rt: Runtime, driver: ComputeDriver, after_id: int = 0, limit: int = BATCH
) -> tuple[list[Change], int]:
    """Observe up to `limit` settled instances with ids above `after_id` and apply what
    changed. Returns the changes made and where the next pass starts (0: from the top)."""
    with rt.db.read() as s:
        looks = _candidates(rt, s, after_id, limit)
    next_after = looks[-1].instance_id if len(looks) >= limit else 0

    planned: list[tuple[_Look, str, Observed | Literal["unreachable"]]] = []
    failed: list[int] = []
    first_error: Exception | None = None
    for look in looks:
        try:
            observed = driver.observe(look.spec)
        except HostUnreachable:
            # Told once by the driver when the host goes silent, and once per instance
            # marked: not on every pass.
            if not look.unreachable:
                planned.append((look, look.power, "unreachable"))
            continue
        except Exception as exc:  # one machine's trouble must not stop the others
            failed.append(look.instance_id)
            first_error = first_error or exc
            log.debug("reconcile: instance %s not observed", look.instance_id, exc_info=True)
            continue
        moved = follow(look.power, observed.power)
        if moved is not None or look.unreachable:
            planned.append((look, moved.value if moved else look.power, observed.power))
    if failed:
        log.warning(
            "reconcile: %d of %d instances could not be observed (%s, ...): %s",
            len(failed),
            len(looks),
            failed[0],
            first_error,
        )
    if not planned:
        return [], next_after

    changes: list[Change] = []
    with rt.db.write() as s:
        now = rt.clock.now()
        for look, to, observed_power in planned:
            marked = now if observed_power == "unreachable" else None
            result = s.execute(
                update(Instance)
                .where(
                    Instance.id == look.instance_id,
                    Instance.version == look.version,
                    Instance.power == look.power,
                    Instance.removed_at.is_(None),
                    _idle(),
                )
                .values(
                    power=to,
                    unreachable_since=marked,
                    driver_state=json.dumps(look.spec.state, separators=(",", ":")),
                    version=Instance.version + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                changes.append(Change(look.instance_id, look.power, to, observed_power))
    for c in changes:
        if c.observed == "unreachable":
            log.warning("instance %s: its host does not answer; kept %s", c.instance_id, c.was)
            continue
        log.info(
            "instance %s: the driver reports %s while it was %s; now %s",
            c.instance_id,
            c.observed,
            c.was,
            c.now,
        )
    return changes, next_after
