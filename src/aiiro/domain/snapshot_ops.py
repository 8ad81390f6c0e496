"""What the engine does for snapshot operations, through the compute driver.

- `snapshot`: the driver copies the disk at once (the snapshot holds the disk as it was
  when takesnapshot was accepted; a retake first drops the copy the slot held); the
  snapshot then shows "running" until the profile's snapshot time has passed, and
  "created" with its size after. A `snapshot_fails` fault
  skips the copy and ends "failed" after the same time.
- `restore`: the driver puts the snapshot's disk back on the stopped instance; after the
  profile's restore time the instance is "Stopped" and takes commands again. A
  `boot_stuck` fault makes the next boot hang at the GRUB prompt (sim).
- `delete_snapshot`: the driver forgets the snapshot's copy.
A snapshot the engine gives up on taking (its driver calls kept failing) is "failed", as
the `snapshot_fails` fault leaves it (retakesnapshot runs it again); a restore it gives up
on leaves the instance Stopped (instance_ops.settle_after_failure).
Each handler checks that its rows are still in the state it expects, so a repeat after a
crash, or a run after a reset, does nothing twice.
"""

from __future__ import annotations

import json
import logging

from aiiro.compute.driver import BootFaults, SnapshotSpec
from aiiro.domain.instance_ops import save
from aiiro.domain.lifecycle import Power
from aiiro.domain.snapshots import CREATED, DELETE, FAILED, RESTORE, RUNNING, TAKE
from aiiro.domain.specs import spec_of
from aiiro.engine.operations import Handler, Job
from aiiro.store.models import Snapshot

log = logging.getLogger("aiiro.engine")


def _spec(snap: Snapshot) -> SnapshotSpec:
    return SnapshotSpec(snap.id, snap.instance_id, snap.name, json.loads(snap.driver_state or "{}"))


def _until(job: Job, since: float, duration: float) -> None:
    """Run again when `duration` from `since` (epoch s) is over (at once if it is)."""
    job.again_in(since + duration - job.rt.clock.time())


def _keep(snap: Snapshot, spec: SnapshotSpec) -> None:
    snap.driver_state = json.dumps(spec.state, separators=(",", ":"))


def take(job: Job) -> None:
    snap = job.s.get(Snapshot, job.op.snapshot_id, with_for_update=True)
    if snap is None or snap.deleted_at is not None or snap.status != RUNNING:
        return
    t = job.rt.timings
    since = float(job.payload.get("since", job.rt.clock.time()))
    phase = job.payload.get("phase", "begin")
    if phase == "begin":
        if job.payload.get("fail"):
            _until(job, since, t.snapshot_s)
            job.payload["phase"] = "fail"
            return
        inst = job.instance()
        if inst is None or inst.removed_at is not None:
            snap.status = FAILED
            return
        spec = spec_of(job.rt, job.s, inst)
        sspec = _spec(snap)
        if job.payload.get("again"):
            # retakesnapshot: the copy the slot held (if any) goes before the new one.
            job.drive(job.driver.delete_snapshot, spec, sspec)
        size = job.drive(job.driver.snapshot, spec, sspec)
        _keep(snap, sspec)
        save(job, inst, spec)
        _until(job, since, t.snapshot_s)
        job.payload.update(phase="done", size=size)
        return
    if job.rt.clock.time() < since + t.snapshot_s:
        _until(job, since, t.snapshot_s)  # the profile changed: not yet
        return
    if phase == "fail":
        snap.status = FAILED
        return
    snap.status = CREATED
    snap.size = int(job.payload["size"])
    snap.completed_at = job.now.replace(microsecond=0)


def take_failed(job: Job) -> None:
    snap = job.s.get(Snapshot, job.op.snapshot_id, with_for_update=True)
    if snap is not None and snap.deleted_at is None and snap.status == RUNNING:
        snap.status = FAILED


def restore(job: Job) -> None:
    inst = job.instance()
    if inst is None or inst.removed_at is not None or inst.power != Power.RESTORING.value:
        return
    t = job.rt.timings
    if job.payload.get("phase", "begin") == "begin":
        snap = job.s.get(Snapshot, job.op.snapshot_id)
        spec = spec_of(job.rt, job.s, inst)
        if snap is not None:
            job.drive(job.driver.restore, spec, _spec(snap))
        if job.payload.get("boot_stuck"):
            if isinstance(job.driver, BootFaults):
                job.driver.stick_next_boot(spec.state)
            else:
                log.warning("boot_stuck fault: driver %s cannot simulate it", job.driver.name)
        save(job, inst, spec)
        since = job.rt.clock.time()
        _until(job, since, t.restore_s)
        job.payload.update(phase="done", since=since)
        return
    since = float(job.payload["since"])
    if job.rt.clock.time() < since + t.restore_s:
        _until(job, since, t.restore_s)
        return
    inst.power = Power.STOPPED.value
    save(job, inst)


def delete(job: Job) -> None:
    snap = job.s.get(Snapshot, job.op.snapshot_id, with_for_update=True)
    inst = job.instance()
    if snap is None or inst is None or inst.removed_at is not None:
        return
    spec = spec_of(job.rt, job.s, inst)
    sspec = _spec(snap)
    job.drive(job.driver.delete_snapshot, spec, sspec)
    _keep(snap, sspec)
    save(job, inst, spec)


# --- what the engine runs (handed to it by serve.py) -------------------------------------

HANDLERS: dict[str, Handler] = {TAKE: take, RESTORE: restore, DELETE: delete}
GIVE_UP: dict[str, Handler] = {TAKE: take_failed}
