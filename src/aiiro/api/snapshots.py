"""Snapshots: /webarenaIndigo/v1/disk/... (and, under /_aiiro, files on a sim disk).

Success is `{"STATUS":0}` on every snapshot endpoint but the list; the list is a bare
array where `user_id` and `size` are strings, `size` is "" until the snapshot is created,
and unset times are "0000-00-00 00:00:00" (indigo-api-facts.md §6).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import WithJsonSchema
from starlette.responses import Response

from aiiro.api import render
from aiiro.api.auth import caller, engine, runtime
from aiiro.api.body import Body, Id, body_schema, parse, path_id
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


indigo = APIRouter(prefix="/webarenaIndigo/v1/disk", tags=["snapshots"])


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


@indigo.post(
    "/takesnapshot",
    openapi_extra=body_schema(TakeSnapshot),
    summary="Take a snapshot of an instance's disk (no id in the answer: poll the list)",
)
async def take_snapshot(request: Request, who: Caller = Depends(caller)) -> Response:
    rt = runtime(request)
    body = await parse(request, TakeSnapshot)
    await engine(request).change(
        lambda s: snapshots.take(
            rt, s, who.account_id, body.instanceid, body.name, body.slotnum or 0
        )
    )
    return render.status_zero()


@indigo.get(
    "/snapshotlist/{instance_id}",
    summary="An instance's snapshots (a bare array)",
)
async def snapshot_list(
    instance_id: str, request: Request, who: Caller = Depends(caller)
) -> Response:
    with engine(request).view() as s:
        snaps = snapshots.list_for(s, who.account_id, path_id(instance_id))
        return render.backend([listed(x) for x in snaps])


@indigo.post(
    "/retakesnapshot",
    openapi_extra=body_schema(SnapshotRef),
    summary="Take a failed snapshot again",
)
async def retake_snapshot(request: Request, who: Caller = Depends(caller)) -> Response:
    rt = runtime(request)
    body = await parse(request, SnapshotRef)
    await engine(request).change(
        lambda s: snapshots.retake(rt, s, who.account_id, body.instanceid, body.snapshotid)
    )
    return render.status_zero()


@indigo.post(
    "/restoresnapshot",
    openapi_extra=body_schema(SnapshotRef),
    summary="Put a snapshot back on a stopped instance's disk (S10002 unless stopped)",
)
async def restore_snapshot(request: Request, who: Caller = Depends(caller)) -> Response:
    rt = runtime(request)
    body = await parse(request, SnapshotRef)
    await engine(request).change(
        lambda s: snapshots.restore(rt, s, who.account_id, body.instanceid, body.snapshotid)
    )
    return render.status_zero()


@indigo.delete("/deletesnapshot/{snapshot_id}", summary="Delete a snapshot")
async def delete_snapshot(
    snapshot_id: str, request: Request, who: Caller = Depends(caller)
) -> Response:
    rt = runtime(request)
    await engine(request).change(
        lambda s: snapshots.delete(rt, s, who.account_id, path_id(snapshot_id))
    )
    return render.status_zero()


router = indigo
