"""The engine's work for the operator, under /_aiiro/ (admin token): operations with their
state and, for those that failed, the reason (the driver's own words: host paths, libvirt
messages; tenants never see them), as a list and per instance."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from aiiro.api import render
from aiiro.api.admin import admin
from aiiro.api.auth import runtime
from aiiro.api.body import path_id, query_int
from aiiro.domain import lifecycle
from aiiro.domain.errors import INSTANCE_NOT_FOUND, invalid, not_found
from aiiro.engine import operations as ops
from aiiro.engine.worker import engine_of
from aiiro.store.models import Instance, Operation

router = APIRouter(prefix="/_aiiro", tags=["admin"], dependencies=[Depends(admin)])

STATES = (ops.PENDING, ops.RUNNING, ops.DONE, ops.FAILED, ops.CANCELLED)
LIMIT = 100
MAX_LIMIT = 1000
PER_INSTANCE = 50


def operation_json(op: Operation) -> dict[str, Any]:
    return {
        "id": op.id,
        "kind": op.kind,
        "instance_id": op.instance_id,
        "snapshot_id": op.snapshot_id,
        "state": op.state,
        "attempts": op.attempts,
        "error": op.error,
        "created_at": render.timestamp(op.created_at),
        "due_at": render.timestamp(op.due_at),
        "finished_at": render.timestamp(op.finished_at),
    }


@router.get(
    "/operations",
    summary="Operations, newest first (?state=failed, ?instance=ID, ?kind=, ?limit=)",
)
async def list_operations(request: Request) -> dict[str, Any]:
    rt = runtime(request)
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
    engine_of(rt).settle()
    with rt.db.read() as s:
        return {"operations": [operation_json(op) for op in s.scalars(q)]}


@router.get(
    "/instances/{instance_id}",
    summary="One instance as the operator sees it: power state, driver state, operations",
)
async def get_instance(instance_id: str, request: Request) -> dict[str, Any]:
    rt = runtime(request)
    iid = path_id(instance_id)
    engine_of(rt).settle()
    with rt.db.read() as s:
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
            "driver_state": json.loads(inst.driver_state or "{}"),
            # The most recent finished operation, when it failed: what went wrong last.
            "failure": operation_json(failure) if failure is not None else None,
            "operations": [operation_json(op) for op in recent],
        }
