"""What the operator can see of instances, under /_aiiro/ (admin token): the engine's
operations with their state and, for those that failed, the reason (the driver's own
words: host paths, libvirt messages; tenants never see them); whether a packet would get
through to an instance; which template each carries; and, with a driver whose guests are
models (the sim), the files on an instance's disk."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from aiiro.api import render
from aiiro.api.auth import engine, runtime
from aiiro.api.body import Body, body_schema, parse, path_id, query_int
from aiiro.compute.driver import GuestFiles, GuestProbe
from aiiro.domain import firewall_rules, firewalls, lifecycle, reachability
from aiiro.domain.errors import (
    GUEST_NOT_ANSWERING,
    INSTANCE_NOT_FOUND,
    INVALID_FIELD,
    SIM_ONLY,
    IndigoError,
    invalid,
    not_found,
)
from aiiro.emulator.admin import admin
from aiiro.engine import operations as ops
from aiiro.store.models import Instance, Operation

router = APIRouter(prefix="/_aiiro", tags=["admin"], dependencies=[Depends(admin)])

STATES = (ops.PENDING, ops.RUNNING, ops.DONE, ops.FAILED, ops.CANCELLED)
LIMIT = 100
MAX_LIMIT = 1000
PER_INSTANCE = 50


def operation_json(op: Operation) -> dict[str, Any]:
    return render.fields(
        op,
        ("id", "kind", "instance_id", "snapshot_id", "state", "attempts", "error"),
        times=("created_at", "due_at", "finished_at"),
    )


@router.get(
    "/operations",
    summary="Operations, newest first (?state=failed, ?instance=ID, ?kind=, ?limit=)",
)
async def list_operations(request: Request) -> dict[str, Any]:
    state = request.query_params.get("state")
    if state is not None and state not in STATES:
        raise invalid("state", f"must be one of {', '.join(STATES)}")
    instance_id = query_int(request, "instance")
    limit = query_int(request, "limit")
    limit = LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid("limit", f"must be between 1 and {MAX_LIMIT}")
    q = select(Operation).order_by(Operation.id.desc()).limit(limit)
    if state is not None:
        q = q.where(Operation.state == state)
    if instance_id is not None:
        q = q.where(Operation.instance_id == instance_id)
    if kind := request.query_params.get("kind"):
        q = q.where(Operation.kind == kind)
    with engine(request).view() as s:
        return {"operations": [operation_json(op) for op in s.scalars(q)]}


@router.get(
    "/instances/{instance_id}",
    summary="One instance as the operator sees it: power state, driver state, operations",
)
async def get_instance(instance_id: str, request: Request) -> dict[str, Any]:
    iid = path_id(instance_id)
    with engine(request).view() as s:
        inst = s.get(Instance, iid) if iid is not None else None
        if inst is None:
            raise not_found(INSTANCE_NOT_FOUND, "Instance not found.")
        failure = ops.latest_failures(s, [inst.id]).get(inst.id)
        recent = s.scalars(
            select(Operation)
            .where(Operation.instance_id == inst.id)
            .order_by(Operation.id.desc())
            .limit(PER_INSTANCE)
        )
        return {
            "id": inst.id,
            "account_id": inst.account_id,
            "name": inst.name,
            "status": inst.status,
            "instancestatus": lifecycle.instancestatus(
                inst.power, inst.import_url is not None, inst.progress, inst.status
            ),
            "power": inst.power,
            "removed_at": render.timestamp(inst.removed_at),
            # While its compute host does not answer: `power` is the last known.
            "unreachable_since": render.timestamp(inst.unreachable_since),
            "driver_state": json.loads(inst.driver_state or "{}"),
            # The most recent finished operation, when it failed: what went wrong last.
            "failure": operation_json(failure) if failure is not None else None,
            "operations": [operation_json(op) for op in recent],
        }


# --- admin: would this instance admit a packet? ----------------------------------------


class Probe(Body):
    source: str
    port: int | None = None
    protocol: str = "TCP"
    direction: Literal["in", "out"] = "in"


@router.get(
    "/instances/{instance_id}/probe",
    summary="Would a connection from `source` to the instance on port/protocol be admitted?",
)
async def probe_get(
    instance_id: str,
    request: Request,
    source: str,
    port: int | None = None,
    protocol: str = "TCP",
    direction: Literal["in", "out"] = "in",
) -> Response:
    return _probe(
        request,
        instance_id,
        Probe(source=source, port=port, protocol=protocol, direction=direction),
    )


@router.post(
    "/instances/{instance_id}/probe",
    openapi_extra=body_schema(Probe),
    summary="The probe, with the packet as a JSON body",
)
async def probe_post(instance_id: str, request: Request) -> Response:
    return _probe(request, instance_id, await parse(request, Probe))


def _probe(request: Request, raw_id: str, p: Probe) -> Response:
    instance_id = path_id(raw_id)
    with engine(request).view() as s:
        inst = s.get(Instance, instance_id) if instance_id is not None else None
        if inst is None or inst.removed_at is not None:
            raise not_found(INSTANCE_NOT_FOUND, "Instance not found.")
        found = reachability.check(s, inst, engine(request).driver)
    out: dict[str, Any] = {
        "instanceId": inst.id,
        "direction": p.direction,
        "source": p.source,
        "port": p.port,
        "protocol": p.protocol.upper(),
    }
    try:
        decision = firewall_rules.decide(found.rules, p.direction, p.source, p.port, p.protocol)
    except ValueError as exc:
        raise IndigoError(400, INVALID_FIELD, f"The probe is invalid: {exc}.") from exc
    if not found.answers:
        return JSONResponse({**out, "admitted": False, "reason": found.why})
    return JSONResponse({**out, "admitted": decision.admitted, "reason": decision.reason})


@router.get(
    "/firewalls/assignments",
    summary="Which template each instance carries (the Indigo API never says)",
)
async def firewall_assignments(request: Request) -> Response:
    rt = runtime(request)
    with rt.db.read() as s:
        held = firewalls.assignments(s)
    return JSONResponse([{"instanceId": i, "templateId": t} for i, t in held])


# --- admin: files on a sim instance's disk (what a user would do over SSH) ---------------


class WriteFile(Body):
    path: str
    content: str


def _guest_files(request: Request) -> GuestFiles:
    driver = engine(request).driver
    if not isinstance(driver, GuestFiles):
        raise IndigoError(400, SIM_ONLY, "Only the sim driver models files on a disk.")
    return driver


def _instance(s: Any, raw_id: str, lock: bool = False) -> Instance:
    instance_id = path_id(raw_id)
    inst = s.get(Instance, instance_id, with_for_update=lock) if instance_id is not None else None
    if inst is None or inst.removed_at is not None:
        raise not_found(INSTANCE_NOT_FOUND, "Instance not found.")
    return inst  # type: ignore[no-any-return]


def _path(path: str) -> str:
    if not path.startswith("/") or len(path) > 1024:
        raise IndigoError(400, INVALID_FIELD, "The path field must be an absolute path.")
    return path


@router.put(
    "/instances/{instance_id}/files",
    openapi_extra=body_schema(WriteFile),
    summary="Write a file on a running sim instance's disk (as a user would over SSH)",
)
async def write_file(instance_id: str, request: Request) -> Response:
    rt = runtime(request)
    body = await parse(request, WriteFile)
    path = _path(body.path)
    files = _guest_files(request)

    def write(s: Session) -> None:
        inst = _instance(s, instance_id, lock=True)
        state = json.loads(inst.driver_state or "{}")
        if not isinstance(files, GuestProbe) or files.guest_detail(state) != "up":
            raise IndigoError(
                400, GUEST_NOT_ANSWERING, "The instance does not answer (not running, or hung)."
            )
        files.write_file(state, path, body.content)
        inst.driver_state = json.dumps(state, separators=(",", ":"))
        inst.version += 1
        inst.updated_at = rt.clock.now()

    await engine(request).change(write)
    return JSONResponse({"path": path, "content": body.content})


@router.get(
    "/instances/{instance_id}/files",
    summary="Read a file from a sim instance's disk (?path=/...)",
)
async def read_file(instance_id: str, path: str, request: Request) -> Response:
    files = _guest_files(request)
    with engine(request).view() as s:
        inst = _instance(s, instance_id)
        content = files.read_file(json.loads(inst.driver_state or "{}"), _path(path))
    if content is None:
        raise IndigoError(404, "A4040", "No such file.")
    return JSONResponse({"path": path, "content": content})
