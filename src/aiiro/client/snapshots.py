"""Snapshots: /webarenaIndigo/v1/disk/..., and the restore workflow.

takesnapshot answers only {"STATUS":0} — no id — so `take` finds the new snapshot in the
instance's list. A snapshot goes running -> created (or failed).

The restore workflow (`restore`): stop the instance (forcestop if a graceful stop does not
finish), restore, start (retrying while the restore still finishes), wait for Running,
then — with a boot check — make sure the guest answers; an instance that does not (the
GRUB hang seen after restores on Indigo) gets forcestop + start, `cures` times at most.
"""

from __future__ import annotations

from collections.abc import Callable

from aiiro.client import instances
from aiiro.client.boot import BootCheck
from aiiro.client.instances import DEFAULT_POLL, DEFAULT_TIMEOUT, OnPoll
from aiiro.client.lookup import Ref, as_id, pick
from aiiro.client.models import RUNNING, STOPPED, Instance, Outcome, Snapshot
from aiiro.client.resource import M, Resource, operation
from aiiro.client_core.errors import (
    ALREADY_RUNNING,
    APIError,
    BootFailed,
    IndigoError,
    LookupFailed,
    WaitTimeout,
)
from aiiro.client_core.policy import Call, Engine, Op, Request, Sleep
from aiiro.client_core.shapes import elements

BASE = "/webarenaIndigo/v1/disk"
# Slots 0-4, one snapshot each: aiiro's rule (A4030 for a used slot); Indigo documents no
# limit and every observed snapshot is in slot 0.
SLOTS = 5
DEFAULT_BOOT_TIMEOUT = 180.0
# How long a graceful stop may take before the workflow forces it.
DEFAULT_FORCE_AFTER = 300.0

OnStep = Callable[[str], None]
OnSnapshotPoll = Callable[[Snapshot, float], None]


def list_call(instance_id: int) -> Call[list[Snapshot]]:
    return Call(
        Request("GET", f"{BASE}/snapshotlist/{instance_id}"),
        lambda b: [Snapshot.from_api(x, instance_id) for x in elements(b)],
    )


def free_slot(snaps: list[Snapshot], instance: Ref) -> int:
    """The lowest slot no snapshot of the instance holds; an error naming the fix when
    every slot is used."""
    used = {s.slot_number for s in snaps}
    free = next((slot for slot in range(SLOTS) if slot not in used), None)
    if free is None:
        names = ", ".join(s.name for s in sorted(snaps, key=lambda s: s.slot_number or 0))
        raise IndigoError(
            f"every snapshot slot of instance {instance} is used (0-{SLOTS - 1}: {names})",
            hint=f"delete one first: `aiiro snapshot delete {instance} NAME`",
        )
    return free


def take_call(instance_id: int, name: str, slot: int = 0) -> Call[Outcome]:
    body = {"name": name, "instanceid": instance_id, "slotnum": str(slot)}
    return Call(Request("POST", f"{BASE}/takesnapshot", body=body), Outcome.from_api)


def retake_call(instance_id: int, snapshot_id: int) -> Call[Outcome]:
    body = {"instanceid": instance_id, "snapshotid": str(snapshot_id)}
    return Call(Request("POST", f"{BASE}/retakesnapshot", body=body), Outcome.from_api)


def restore_call(instance_id: int, snapshot_id: int) -> Call[Outcome]:
    body = {"instanceid": str(instance_id), "snapshotid": str(snapshot_id)}
    return Call(Request("POST", f"{BASE}/restoresnapshot", body=body), Outcome.from_api)


def delete_call(snapshot_id: int) -> Call[Outcome]:
    return Call(Request("DELETE", f"{BASE}/deletesnapshot/{snapshot_id}"), Outcome.from_api)


# --- ops ----------------------------------------------------------------------------------


def list_op(e: Engine, instance: Ref) -> Op[list[Snapshot]]:
    iid = yield from instances.instance_id(e, instance)
    return (yield from e.run(list_call(iid)))


def find(e: Engine, instance: Ref, snapshot: Ref) -> Op[Snapshot]:
    snaps = yield from list_op(e, instance)
    return pick(snaps, snapshot, "snapshot", lambda s: s.id, lambda s: [s.name])


def wait_until(
    e: Engine,
    instance: Ref,
    snapshot: Ref,
    status: str = "created",
    timeout: float = DEFAULT_TIMEOUT,
    poll: float = DEFAULT_POLL,
    on_poll: OnSnapshotPoll | None = None,
) -> Op[Snapshot]:
    iid = yield from instances.instance_id(e, instance)
    start = e.clock()
    while True:
        snap = yield from find(e, iid, snapshot)
        if on_poll is not None:
            on_poll(snap, e.clock() - start)
        if snap.status.lower() == status.lower():
            return snap
        if snap.failed:
            raise IndigoError(
                f"snapshot {snap.name} failed",
                hint="`aiiro snapshot retake` tries it again",
            )
        left = start + timeout - e.clock()
        if left <= 0:
            raise WaitTimeout(
                f"snapshot {snap.name} is {snap.status}, not {status}, after {timeout:g} s",
                last=snap,
            )
        yield Sleep(min(poll, left))


def take_request(e: Engine, instance: Ref, name: str, slot: int | None = None) -> Op[Call[Outcome]]:
    """The takesnapshot call, into `slot` or else the lowest free one."""
    iid = yield from instances.instance_id(e, instance)
    if slot is None:
        slot = free_slot((yield from e.run(list_call(iid))), instance)
    return take_call(iid, name, slot)


def take(
    e: Engine,
    instance: Ref,
    name: str,
    slot: int | None = None,
    wait: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    poll: float = DEFAULT_POLL,
    on_poll: OnSnapshotPoll | None = None,
) -> Op[Snapshot]:
    """Take a snapshot into `slot`, by default the lowest free one, and return it (found
    in the list: the answer carries no id)."""
    iid = yield from instances.instance_id(e, instance)
    snaps = yield from e.run(list_call(iid))
    before = {s.id for s in snaps}
    yield from e.run(take_call(iid, name, free_slot(snaps, instance) if slot is None else slot))
    start = e.clock()
    while True:
        snaps = yield from e.run(list_call(iid))
        named = [s for s in snaps if s.name == name]
        new = [s for s in named if s.id not in before] or named
        if new:
            snap = max(new, key=lambda s: s.id)
            break
        if e.clock() - start >= timeout:
            raise WaitTimeout(f"snapshot {name} did not appear after {timeout:g} s")
        yield Sleep(poll)
    if wait and not snap.created:
        snap = yield from wait_until(e, iid, snap.id, "created", timeout, poll, on_poll)
    return snap


def retake(e: Engine, instance: Ref, snapshot: Ref) -> Op[Outcome]:
    iid = yield from instances.instance_id(e, instance)
    sid = as_id(snapshot)
    if sid is None:
        sid = (yield from find(e, iid, snapshot)).id
    return (yield from e.run(retake_call(iid, sid)))


def delete(e: Engine, snapshot: Ref, instance: Ref | None = None) -> Op[Outcome]:
    sid = as_id(snapshot)
    if sid is None:
        if instance is None:
            raise LookupFailed(f"name the instance to find snapshot {snapshot!r} by name")
        sid = (yield from find(e, instance, snapshot)).id
    return (yield from e.run(delete_call(sid)))


def _start_retrying(e: Engine, iid: int, timeout: float, poll: float) -> Op[None]:
    """Start; a restore or forcestop that is still finishing may refuse it for a while
    (aiiro answers A4018 "still carrying out a previous command"; Indigo's answer is
    unknown), so other 4xx answers are retried until `timeout`."""
    start = e.clock()
    while True:
        try:
            yield from e.run(instances.status_call(iid, "start"))
            return None
        except APIError as err:
            if err.code == ALREADY_RUNNING:
                return None
            if err.status >= 500 or err.status in (401, 404, 429) or e.clock() - start >= timeout:
                raise
        yield Sleep(poll)


def _answers(
    e: Engine, check: BootCheck, inst: Instance, boot_timeout: float, poll: float
) -> Op[bool]:
    start = e.clock()
    while True:
        state = yield from check(e, inst)
        if state == "up":
            return True
        if state == "hung" or e.clock() - start >= boot_timeout:
            return False
        yield Sleep(poll)


# --- the resource ----------------------------------------------------------------------------


class Snapshots(Resource[M]):
    """Snapshots: `indigo.snapshots`."""

    @operation
    def list(self, instance: Ref) -> Op[list[Snapshot]]:
        """The snapshots of an instance."""
        return list_op(self._e, instance)

    @operation
    def get(self, instance: Ref, snapshot: Ref) -> Op[Snapshot]:
        """One snapshot of an instance, by id or name."""
        return find(self._e, instance, snapshot)

    @operation
    def take(
        self,
        instance: Ref,
        name: str,
        slot: int | None = None,
        wait: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        poll: float = DEFAULT_POLL,
    ) -> Op[Snapshot]:
        """Take a snapshot into `slot`, by default the lowest free one; with `wait`, until
        it is created."""
        return take(self._e, instance, name, slot, wait, timeout, poll)

    @operation
    def wait_until(
        self,
        instance: Ref,
        snapshot: Ref,
        status: str = "created",
        timeout: float = DEFAULT_TIMEOUT,
        poll: float = DEFAULT_POLL,
    ) -> Op[Snapshot]:
        """Poll until the snapshot reaches `status`; WaitTimeout after `timeout` seconds."""
        return wait_until(self._e, instance, snapshot, status, timeout, poll)

    @operation
    def retake(self, instance: Ref, snapshot: Ref) -> Op[Outcome]:
        """Take the snapshot again, in its slot."""
        return retake(self._e, instance, snapshot)

    @operation
    def restore(
        self,
        instance: Ref,
        snapshot: Ref,
        *,
        start: bool = True,
        boot_check: BootCheck | None = None,
        boot_timeout: float = DEFAULT_BOOT_TIMEOUT,
        cures: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        poll: float = DEFAULT_POLL,
        force_after: float = DEFAULT_FORCE_AFTER,
        on_poll: OnPoll | None = None,
        on_step: OnStep | None = None,
    ) -> Op[Instance]:
        """The restore workflow (aiiro.client.snapshots' doc): stop the instance (forcestop
        after `force_after` seconds), restore, and unless `start` is False start it and
        wait until Running; with a `boot_check`, make sure the guest answers, curing a hang
        with forcestop + start `cures` times at most. Returns the instance as last seen."""
        e = self._e

        def step(text: str) -> None:
            if on_step is not None:
                on_step(text)

        inst = yield from instances.get(e, instance)
        snap = yield from find(e, inst.id, snapshot)
        if not snap.created:
            raise IndigoError(f"snapshot {snap.name} is {snap.status}, not created")
        if not inst.stopped:
            step(f"stopping {inst.instance_name}")
            inst = yield from instances.ensure_stopped(
                e, inst.id, True, timeout, poll, on_poll, force_after
            )
        step(f"restoring {snap.name} on {inst.instance_name}")
        yield from e.run(restore_call(inst.id, snap.id))
        if not start:
            return inst
        step(f"starting {inst.instance_name}")
        yield from _start_retrying(e, inst.id, timeout, poll)
        inst = yield from instances.wait_until(e, inst.id, RUNNING, timeout, poll, on_poll)
        if boot_check is None:
            return inst
        for attempt in range(cures + 1):
            step(f"checking that {inst.instance_name} answers")
            if (yield from _answers(e, boot_check, inst, boot_timeout, poll)):
                return inst
            if attempt == cures:
                break
            step(f"{inst.instance_name} does not answer: forcestop, then start")
            yield from e.run(instances.status_call(inst.id, "forcestop"))
            yield from instances.wait_until(e, inst.id, STOPPED, timeout, poll, on_poll)
            yield from _start_retrying(e, inst.id, timeout, poll)
            inst = yield from instances.wait_until(e, inst.id, RUNNING, timeout, poll, on_poll)
        raise BootFailed(
            f"{inst.instance_name} is Running but its guest did not answer (it hangs, or stayed "
            f"silent for {boot_timeout:g} s), after {cures} forcestop + start"
        )

    @operation
    def delete(self, snapshot: Ref, instance: Ref | None = None) -> Op[Outcome]:
        """Delete a snapshot: by id, or by name with its instance."""
        return delete(self._e, snapshot, instance)
