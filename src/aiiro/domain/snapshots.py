"""Disk snapshots: take, list, retake, restore, delete (and the source of an instance
created from a snapshot).

The work itself (the driver copying or putting back a disk) runs in the engine
(domain/snapshot_ops.py); these functions check the rules, change the rows and add the
operation in the caller's transaction. aiiro's decisions where the real service is silent
(docs/compatibility.md):
- slots: `slotnum` 0-4, one snapshot per slot and instance; a slot is free again once its
  snapshot is deleted (taking into a used slot: A4030). Every observed dump shows slot 0;
- takesnapshot works on a stopped or a running instance (observed in 2024), not while it
  is provisioning (A4021) or carrying out a command (A4018). The snapshot holds the disk
  as it was when takesnapshot was accepted; it shows "running" for the profile's
  snapshot time, then "created" with its size and completion time;
- retakesnapshot takes a "failed" or a "created" snapshot again, into the same slot (a
  live-API client test retakes a snapshot it has just created and expects STATUS 0); a
  snapshot still being taken is refused (A4032). The strict reading (only a failed one,
  else A4032) is the fault action `retake_refused`;
- restoresnapshot needs a stopped instance (S10002) and a "created" snapshot (A4031); the
  instance shows "Stopped" while the disk is put back, and commands wait (A4018) until it
  is through. You start it yourself afterwards, as on Indigo;
- deletesnapshot refuses a snapshot that is still running, being restored or being used
  to create an instance (A4033);
- a snapshot lives as long as its instance: once the instance has left the list, its
  snapshots are gone too (404).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aiiro.domain import faults, instances, lifecycle, names
from aiiro.domain.errors import (
    INSTANCE_NOT_FOUND,
    SNAPSHOT_BUSY,
    SNAPSHOT_NOT_FAILED,
    SNAPSHOT_NOT_FOUND,
    SNAPSHOT_NOT_READY,
    SNAPSHOT_SLOT_IN_USE,
    bad_request,
    invalid,
    not_found,
)
from aiiro.domain.lifecycle import Power
from aiiro.engine import operations
from aiiro.runtime import Runtime
from aiiro.store.models import Instance, Operation, Snapshot

RUNNING = "running"
CREATED = "created"
FAILED = "failed"
SLOTS = 5
NOT_STOPPED = "S10002"
TAKE = "snapshot"
RESTORE = "restore"
DELETE = "delete_snapshot"


def take(
    rt: Runtime, s: Session, account_id: int, instance_id: int, name: str, slot: int
) -> Snapshot:
    inst = _usable_instance(s, account_id, instance_id)
    if not 0 <= slot < SLOTS:
        raise invalid("slotnum", f"must be 0 to {SLOTS - 1}")
    taken = s.scalar(
        select(Snapshot.id).where(
            Snapshot.instance_id == inst.id,
            Snapshot.slot_number == slot,
            Snapshot.deleted_at.is_(None),
        )
    )
    if taken is not None:
        raise bad_request(
            SNAPSHOT_SLOT_IN_USE,
            f"Snapshot slot {slot} of this instance is in use. Delete its snapshot first.",
        )
    plan = rt.catalog.plan(inst.plan_id)
    snap = Snapshot(
        account_id=account_id,
        instance_id=inst.id,
        name=_name(name),
        slot_number=slot,
        status=RUNNING,
        size=None,
        disk_id=inst.id,  # one disk per instance
        volume=plan.disk_gb if plan else 20,
        driver_state="{}",
        created_at=rt.clock.now(),
    )
    s.add(snap)
    s.flush()
    _run(rt, s, account_id, snap, "takesnapshot")
    return snap


def list_for(s: Session, account_id: int, instance_id: int | None) -> list[Snapshot]:
    inst = instances.get(s, account_id, instance_id)
    return list(
        s.scalars(
            select(Snapshot)
            .where(Snapshot.instance_id == inst.id, Snapshot.deleted_at.is_(None))
            .order_by(Snapshot.id)
        )
    )


def retake(
    rt: Runtime, s: Session, account_id: int, instance_id: int, snapshot_id: int
) -> Snapshot:
    inst = _usable_instance(s, account_id, instance_id)
    snap = _of_instance(s, inst, snapshot_id)
    if snap.status == RUNNING:
        raise bad_request(SNAPSHOT_NOT_FAILED, "The snapshot is still being taken.")
    if snap.status == CREATED:
        hit = faults.take(rt, s, "retakesnapshot", account_id, ("retake_refused",))
        if hit is not None and hit.error is not None:
            raise hit.error
    snap.status = RUNNING
    snap.size = None
    snap.completed_at = None
    _run(rt, s, account_id, snap, "retakesnapshot")
    return snap


def restore(
    rt: Runtime, s: Session, account_id: int, instance_id: int, snapshot_id: int
) -> Snapshot:
    inst = instances.get(s, account_id, instance_id, lock=True)
    snap = _of_instance(s, inst, snapshot_id)
    if inst.power != Power.STOPPED.value:
        raise bad_request(NOT_STOPPED, "Please turn-off Instance before restoring a snapshot")
    if snap.status != CREATED:
        raise bad_request(SNAPSHOT_NOT_READY, "The snapshot is not ready yet.")
    result = s.execute(
        update(Instance)
        .where(Instance.id == inst.id, Instance.version == inst.version)
        .values(power=Power.RESTORING.value, version=inst.version + 1, updated_at=rt.clock.now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise bad_request(lifecycle.BUSY, instances.REFUSALS[lifecycle.BUSY])
    s.refresh(inst)
    hit = faults.take(rt, s, "restoresnapshot", account_id)
    stuck = hit is not None and hit.action == "boot_stuck"
    operations.enqueue(
        rt, s, RESTORE, instance_id=inst.id, snapshot_id=snap.id, payload={"boot_stuck": stuck}
    )
    return snap


def delete(rt: Runtime, s: Session, account_id: int, snapshot_id: int | None) -> None:
    snap = _visible(s, account_id, snapshot_id)
    if snap.status == RUNNING:
        raise bad_request(SNAPSHOT_BUSY, "The snapshot is still being taken.")
    in_use = s.scalar(
        select(Operation.id).where(
            Operation.snapshot_id == snap.id,
            Operation.kind == RESTORE,
            Operation.state.in_((operations.PENDING, operations.RUNNING)),
        )
    ) or s.scalar(
        select(Instance.id).where(
            Instance.snapshot_id == snap.id, Instance.power == Power.INSTALLING.value
        )
    )
    if in_use is not None:
        raise bad_request(SNAPSHOT_BUSY, "The snapshot is in use; try again shortly.")
    snap.deleted_at = rt.clock.now()
    operations.enqueue(rt, s, DELETE, instance_id=snap.instance_id, snapshot_id=snap.id)


def resolve_source(rt: Runtime, s: Session, account_id: int, snapshot_id: int) -> Snapshot:
    """The caller's finished snapshot an instance may be created from."""
    snap = _visible(s, account_id, snapshot_id)
    if snap.status != CREATED:
        raise bad_request(SNAPSHOT_NOT_READY, "The snapshot is not ready yet.")
    return snap


# --- internals ----------------------------------------------------------------------------


def _name(name: str) -> str:
    return names.checked("name", name)


def _usable_instance(s: Session, account_id: int, instance_id: int) -> Instance:
    """An instance a snapshot can be taken of: provisioned, stopped or running. Locked,
    so that two requests for one slot are decided one after the other."""
    inst = instances.get(s, account_id, instance_id, lock=True)
    if not instances.is_active(inst):
        raise not_found(INSTANCE_NOT_FOUND, "Instance not found.")
    if inst.status != lifecycle.OPEN:
        raise bad_request(lifecycle.PROVISIONING, instances.REFUSALS[lifecycle.PROVISIONING])
    if inst.power not in (Power.STOPPED.value, Power.RUNNING.value):
        raise bad_request(lifecycle.BUSY, instances.REFUSALS[lifecycle.BUSY])
    return inst


def _of_instance(s: Session, inst: Instance, snapshot_id: int) -> Snapshot:
    snap = s.get(Snapshot, snapshot_id)
    if snap is None or snap.instance_id != inst.id or snap.deleted_at is not None:
        raise not_found(SNAPSHOT_NOT_FOUND, "Snapshot not found.")
    return snap


def _visible(s: Session, account_id: int, snapshot_id: int | None) -> Snapshot:
    snap = s.get(Snapshot, snapshot_id) if snapshot_id is not None else None
    if snap is None or snap.account_id != account_id or snap.deleted_at is not None:
        raise not_found(SNAPSHOT_NOT_FOUND, "Snapshot not found.")
    inst = s.get(Instance, snap.instance_id)
    if inst is None or inst.removed_at is not None:
        raise not_found(SNAPSHOT_NOT_FOUND, "Snapshot not found.")
    return snap


def _run(rt: Runtime, s: Session, account_id: int, snap: Snapshot, operation: str) -> None:
    """Add the operation that takes the snapshot; a fault rule may make it fail."""
    hit = faults.take(rt, s, operation, account_id, ("snapshot_fails",))
    fails = hit is not None
    operations.enqueue(
        rt,
        s,
        TAKE,
        instance_id=snap.instance_id,
        snapshot_id=snap.id,
        payload={"fail": fails, "since": rt.clock.time(), "again": operation == "retakesnapshot"},
    )
