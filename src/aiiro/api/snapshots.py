"""Snapshots: /webarenaIndigo/v1/disk/... (and, under /_aiiro, files on a sim disk).

Success is `{"STATUS":0}` on every snapshot endpoint but the list; the list is a bare
array where `user_id` and `size` are strings, `size` is "" until the snapshot is created,
and unset times are "0000-00-00 00:00:00" (indigo-api-facts.md §6).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import WithJsonSchema
from starlette.responses import JSONResponse, Response

from aiiro.api import render
from aiiro.api.admin import admin
from aiiro.api.auth import caller, runtime
from aiiro.api.body import Body, Id, body_schema, parse, path_id
from aiiro.compute import sim
from aiiro.domain import snapshots
from aiiro.domain.accounts import Caller, service_id
from aiiro.domain.errors import (
    GUEST_NOT_ANSWERING,
    INSTANCE_NOT_FOUND,
    INVALID_FIELD,
    SIM_ONLY,
    IndigoError,
    not_found,
)
from aiiro.engine.worker import engine_of
from aiiro.runtime import Runtime
from aiiro.store.models import Instance, Snapshot

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
    with engine_of(rt).change() as s:
        snapshots.take(rt, s, who.account_id, body.instanceid, body.name, body.slotnum or 0)
    return render.status_zero()


@indigo.get(
    "/snapshotlist/{instance_id}",
    summary="An instance's snapshots (a bare array)",
)
async def snapshot_list(
    instance_id: str, request: Request, who: Caller = Depends(caller)
) -> Response:
    rt = runtime(request)
    engine_of(rt).settle()
    with rt.db.read() as s:
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
    with engine_of(rt).change() as s:
        snapshots.retake(rt, s, who.account_id, body.instanceid, body.snapshotid)
    return render.status_zero()


@indigo.post(
    "/restoresnapshot",
    openapi_extra=body_schema(SnapshotRef),
    summary="Put a snapshot back on a stopped instance's disk (S10002 unless stopped)",
)
async def restore_snapshot(request: Request, who: Caller = Depends(caller)) -> Response:
    rt = runtime(request)
    body = await parse(request, SnapshotRef)
    with engine_of(rt).change() as s:
        snapshots.restore(rt, s, who.account_id, body.instanceid, body.snapshotid)
    return render.status_zero()


@indigo.delete("/deletesnapshot/{snapshot_id}", summary="Delete a snapshot")
async def delete_snapshot(
    snapshot_id: str, request: Request, who: Caller = Depends(caller)
) -> Response:
    rt = runtime(request)
    with engine_of(rt).change() as s:
        snapshots.delete(rt, s, who.account_id, path_id(snapshot_id))
    return render.status_zero()


# --- admin: files on a sim instance's disk (what a user would do over SSH) ---------------

admin_router = APIRouter(prefix="/_aiiro", tags=["admin"], dependencies=[Depends(admin)])


class WriteFile(Body):
    path: str
    content: str


def _sim_instance(rt: Runtime, s: Any, raw_id: str, lock: bool = False) -> Instance:
    if not isinstance(rt.extras.get("driver"), sim.SimDriver):
        raise IndigoError(400, SIM_ONLY, "Only the sim driver models files on a disk.")
    instance_id = path_id(raw_id)
    inst = s.get(Instance, instance_id, with_for_update=lock) if instance_id is not None else None
    if inst is None or inst.removed_at is not None:
        raise not_found(INSTANCE_NOT_FOUND, "Instance not found.")
    return inst  # type: ignore[no-any-return]


def _path(path: str) -> str:
    if not path.startswith("/") or len(path) > 1024:
        raise IndigoError(400, INVALID_FIELD, "The path field must be an absolute path.")
    return path


@admin_router.put(
    "/instances/{instance_id}/files",
    openapi_extra=body_schema(WriteFile),
    summary="Write a file on a running sim instance's disk (as a user would over SSH)",
)
async def write_file(instance_id: str, request: Request) -> Response:
    rt = runtime(request)
    body = await parse(request, WriteFile)
    path = _path(body.path)
    engine_of(rt).settle()
    with rt.db.write() as s:
        inst = _sim_instance(rt, s, instance_id, lock=True)
        state = json.loads(inst.driver_state or "{}")
        if not sim.answers(rt, state):
            raise IndigoError(
                400, GUEST_NOT_ANSWERING, "The instance does not answer (not running, or hung)."
            )
        sim.SimDriver.write_file(state, path, body.content)
        inst.driver_state = json.dumps(state, separators=(",", ":"))
        inst.version += 1
        inst.updated_at = rt.clock.now()
    return JSONResponse({"path": path, "content": body.content})


@admin_router.get(
    "/instances/{instance_id}/files",
    summary="Read a file from a sim instance's disk (?path=/...)",
)
async def read_file(instance_id: str, path: str, request: Request) -> Response:
    rt = runtime(request)
    engine_of(rt).settle()
    with rt.db.read() as s:
        inst = _sim_instance(rt, s, instance_id)
        content = sim.SimDriver.read_file(json.loads(inst.driver_state or "{}"), _path(path))
    if content is None:
        raise IndigoError(404, "A4040", "No such file.")
    return JSONResponse({"path": path, "content": content})


router = APIRouter()
router.include_router(indigo)
router.include_router(admin_router)
