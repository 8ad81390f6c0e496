"""Snapshots: /webarenaIndigo/v1/disk/... (and, under /_aiiro, files on a sim disk).

Success is `{"STATUS":0}` on every snapshot endpoint but the list; the list is a bare
array where `user_id` and `size` are strings, `size` is "" until the snapshot is created,
and unset times are "0000-00-00 00:00:00" (indigo-api-facts.md §6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import WithJsonSchema
from starlette.requests import Request
from starlette.responses import Response

from aiiro.api import render
from aiiro.api.auth import engine, runtime
from aiiro.api.body import Body, Id, path_id
from aiiro.api.endpoint import Area
from aiiro.api.openapi import BAD, MISSING, arr, ok, ref
from aiiro.domain import snapshots
from aiiro.domain.accounts import Caller, service_id
from aiiro.store.models import Snapshot

IdParam = Annotated[Id, WithJsonSchema({"type": ["string", "integer"], "pattern": "^[0-9]+$"})]


class TakeSnapshot(Body):
    name: str
    instanceid: IdParam
    slotnum: Annotated[
        Id | None,
        WithJsonSchema(
            {
                "type": ["string", "integer"],
                "pattern": "^[0-9]+$",
                "description": f"0 to {snapshots.SLOTS - 1}; 0 when left out",
            }
        ),
    ] = None


class SnapshotRef(Body):
    instanceid: IdParam
    snapshotid: IdParam


area = Area("/webarenaIndigo/v1/disk", tag="snapshots")


def listed(snap: Snapshot) -> dict[str, Any]:
    created = snap.status == snapshots.CREATED
    return {
        "id": snap.id,
        "name": snap.name,
        "service_id": service_id(snap.account_id),
        "user_id": str(snap.account_id),  # a string here, an int everywhere else
        "disk_id": snap.disk_id,
        "volume": snap.volume,
        "slot_number": snap.slot_number,
        "status": snap.status,
        "size": str(snap.size) if created and snap.size is not None else "",
        "deleted": 0,
        "completed_timestamp": render.timestamp(snap.completed_at) if created else render.ZERO_TIME,
        "deleted_timestamp": render.ZERO_TIME,
    }


@area.post(
    "/takesnapshot",
    summary="Take a snapshot of an instance's disk (no id in the answer: poll the list)",
    answers={"200": ok(ref("StatusZero"))},
    errors=(BAD, MISSING),
    body=TakeSnapshot,
    fault="takesnapshot",
)
async def take_snapshot(request: Request, who: Caller, body: TakeSnapshot) -> Response:
    rt = runtime(request)
    await engine(request).change(
        lambda s: snapshots.take(
            rt, s, who.account_id, body.instanceid, body.name, body.slotnum or 0
        )
    )
    return render.status_zero()


@area.get(
    "/snapshotlist/{instance_id}",
    summary="An instance's snapshots (a bare array)",
    answers={"200": ok(arr(ref("Snapshot")), "A bare array")},
    errors=(MISSING,),
    fault="snapshotlist",
)
async def snapshot_list(request: Request, who: Caller, instance_id: str) -> Response:
    with engine(request).view() as s:
        snaps = snapshots.list_for(s, who.account_id, path_id(instance_id))
        return render.backend([listed(x) for x in snaps])


def _on_snapshot(name: str, summary: str, act: Callable[..., Snapshot]) -> None:
    """A POST endpoint acting on one snapshot of one instance (`instanceid`,
    `snapshotid`), answering `{"STATUS":0}`."""

    async def on_snapshot(request: Request, who: Caller, body: SnapshotRef) -> Response:
        rt = runtime(request)
        await engine(request).change(
            lambda s: act(rt, s, who.account_id, body.instanceid, body.snapshotid)
        )
        return render.status_zero()

    # Its OpenAPI operationId: retake_snapshot, restore_snapshot.
    on_snapshot.__name__ = on_snapshot.__qualname__ = name.replace("snapshot", "_snapshot")
    area.post(
        f"/{name}",
        summary=summary,
        answers={"200": ok(ref("StatusZero"))},
        errors=(BAD, MISSING),
        body=SnapshotRef,
        fault=name,
    )(on_snapshot)


_on_snapshot("retakesnapshot", "Take a failed snapshot again", snapshots.retake)
_on_snapshot(
    "restoresnapshot",
    "Put a snapshot back on a stopped instance's disk (S10002 unless stopped)",
    snapshots.restore,
)


@area.delete(
    "/deletesnapshot/{snapshot_id}",
    summary="Delete a snapshot",
    answers={"200": ok(ref("StatusZero"))},
    errors=(BAD, MISSING),
    fault="deletesnapshot",
)
async def delete_snapshot(request: Request, who: Caller, snapshot_id: str) -> Response:
    rt = runtime(request)
    await engine(request).change(
        lambda s: snapshots.delete(rt, s, who.account_id, path_id(snapshot_id))
    )
    return render.status_zero()
