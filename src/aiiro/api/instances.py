"""Instances: createinstance, getinstancelist, instance/statusupdate.

The create response and the list show the same instance with different types and
fields (indigo-api-facts.md §4.3, §4.4): `vps_kind` "10" vs 10, `created_at` a PHP
DateTime object vs a string, list-only derived fields. Both shapes are built here and
nowhere else.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row
from starlette.requests import Request
from starlette.responses import Response

from aiiro.api import render
from aiiro.api.auth import engine, runtime
from aiiro.api.body import Body, Id
from aiiro.api.endpoint import Area
from aiiro.api.openapi import BAD, BOOL, MISSING, STR, arr, const, obj, ok, ref
from aiiro.domain import instances, lifecycle
from aiiro.domain.accounts import Caller, service_id
from aiiro.domain.errors import RESET_OK, invalid
from aiiro.domain.lifecycle import Command
from aiiro.runtime import Runtime
from aiiro.store.models import Instance

area = Area("/webarenaIndigo/v1/vm", tag="instances")

CREATED = "Instance has been created successfully"
STARTED = "Instance has started successfully "  # sic: trailing space
STOPPED = "Instance has stopped successfully "  # sic
DESTROYED = "Instance has been destroyed successfully"
RESET = "Instance has been reset successfully"
STOP_INITIATED = (
    "Shutdown of the instance is initiated. It will take few minutes to complete the "
    "shutdown process"
)
VPS_KIND = 10
# What a kept list item's key (a row's values) weighs besides the item, about.
FRAGMENT_KEY_BYTES = 1024


class CreateInstance(Body):
    """One body, four variants: Linux (sshKeyId), Windows (winPassword), import
    (osId 3 + importUrl) and from a snapshot (snapshotId; region and OS from it)."""

    sshKeyId: Id | None = None
    regionId: Id | None = None
    osId: Id | None = None
    instancePlan: Id | None = None
    instanceName: str | None = None
    winPassword: str | None = None
    importUrl: str | None = None
    snapshotId: Id | None = None


class StatusUpdate(Body):
    instanceId: Id
    status: str


# --- shapes ---------------------------------------------------------------------------


# An ORM instance, or a row of the instances table (the list reads plain rows).
InstanceLike = Instance | Row[Any]


def _common(rt: Runtime, inst: InstanceLike, provisioned: bool) -> dict[str, Any]:
    """The fields both shapes share, in the observed order, minus the three that differ
    (vps_kind, created_at: placed by the callers)."""
    plan = rt.catalog.plan(inst.plan_id)
    return {
        "id": inst.id,
        "instance_name": inst.name,
        "set_no": inst.set_no,
        "vps_kind": VPS_KIND,
        "sequence_id": inst.id,
        "user_id": inst.account_id,
        "service_id": service_id(inst.account_id),
        "status": inst.status,
        "sshkey_id": inst.sshkey_id,
        "snapshot_id": inst.snapshot_id,
        "created_at": None,
        "host_id": inst.host_id,
        "plan_id": inst.plan_id,
        "plan": plan.kvm_name if plan else "",
        "disk_point": 0,
        "memsize": plan.memsize if plan else 0,
        "cpus": plan.cpus if plan else 0,
        "os_id": inst.os_id,
        "otherstatus": lifecycle.OTHERSTATUS[inst.status],
        # Network and console details exist once the instance is provisioned.
        "uuid": inst.uuid if provisioned else None,
        "uidgid": inst.id + 10000,
        "vnc_port": inst.vnc_port if provisioned else 0,
        "vnc_passwd": inst.vnc_passwd,
        "arpaname": inst.arpaname if provisioned else None,
        "arpadate": inst.arpadate if provisioned else 0,
        "started_at": render.timestamp(inst.started_at) if provisioned else None,
        # sic: null in every captured body; clients decode it as a number (dytlzl/indigo
        # as an int), so it stays null while a destroyed instance is still listed too.
        "closed_at": None,
        "vm_revert": 0,
        "ipaddress": inst.ipaddress if provisioned else None,
        "secondary_ip": None,
        "macaddress": inst.macaddress if provisioned else None,
        "instancetype_id": inst.instancetype_id,
        "import_instance": 1 if inst.import_url is not None else 0,
        "container_id": None,
        # sic: always "" on Indigo; aiiro's mark of a host that does not answer (decisions.md)
        "daemonstatus": lifecycle.HOST_UNREACHABLE if inst.unreachable_since is not None else "",
        "outofstock": 0,
        "ipaddress_type": inst.ipaddress_type,
    }


def created_json(rt: Runtime, inst: Instance) -> dict[str, Any]:
    """`vms` of the createinstance answer: READY, nulls, vps_kind "10" as a string and
    created_at as a PHP DateTime object."""
    out = _common(rt, inst, provisioned=False)
    out["vps_kind"] = str(VPS_KIND)
    out["created_at"] = render.php_datetime(inst.created_at)
    return out


def listed_json(rt: Runtime, inst: InstanceLike, account_name: str) -> dict[str, Any]:
    """An element of getinstancelist."""
    provisioned = inst.status == lifecycle.OPEN
    out = _common(rt, inst, provisioned)
    out["created_at"] = render.timestamp(inst.created_at)
    out["secondary_ip"] = (inst.secondary_ip or "") if provisioned else ""
    image = rt.catalog.image(inst.os_id)
    region = rt.catalog.region(inst.region_id)
    out["VEID"] = f"{inst.set_no}1{inst.id:011d}"
    out["os"] = image.public if image else None
    out["ip"] = out["ipaddress"] or ""
    out["instancecreatedbyuser"] = account_name + " "  # sic: trailing space
    out["regionname"] = region.name if region else ""
    out["instancestatus"] = instances.shown_status(inst)
    out["instancetype"] = rt.catalog.instance_type(inst.instancetype_id)
    return out


# --- routes -----------------------------------------------------------------------------


@area.post(
    "/createinstance",
    summary="Create an instance (Linux, Windows, import URL, or from a snapshot)",
    answers={
        "201": ok(obj({"success": const(True), "message": STR, "vms": ref("CreatedInstance")}))
    },
    errors=(BAD, MISSING),
    body=CreateInstance,
    fault="createinstance",
)
async def create_instance(request: Request, who: Caller, body: CreateInstance) -> Response:
    rt = runtime(request)
    req = instances.CreateRequest(
        instance_name=body.instanceName,
        region_id=body.regionId,
        os_id=body.osId,
        plan_id=body.instancePlan,
        sshkey_id=body.sshKeyId,
        win_password=body.winPassword,
        import_url=body.importUrl,
        snapshot_id=body.snapshotId,
    )
    vms = await engine(request).change(
        lambda s: created_json(rt, instances.create(rt, s, who.account_id, req))
    )
    return render.backend({"success": True, "message": CREATED, "vms": vms}, 201)


@area.get(
    "/getinstancelist",
    summary="List instances (a bare array)",
    answers={"200": ok(arr(ref("Instance")), "A bare array")},
    fault="getinstancelist",
)
async def list_instances(request: Request, who: Caller) -> Response:
    rt = runtime(request)
    engine(request).settle()

    def body() -> bytes:
        with rt.db.read() as s:
            rows = instances.listed_rows(s, who.account_id)
        return render.php_array(listed_item(rt, row, who.account_name) for row in rows)

    return render.rendered(rt.db.memo(("instances", who.account_id, who.account_name), body))


def listed_item(rt: Runtime, row: Row[Any], account_name: str) -> bytes:
    """An element of getinstancelist, rendered: kept (rt.fragments) under all it is made
    of, the row as stored and the account's name (the catalogue is the process's own and
    fixed), so a list polled while a few instances change renders those few; the key
    comes from the store, so it holds whichever process made the change."""
    key = (account_name, *row)
    item = rt.fragments.get(key)
    if item is None:
        item = render.php_json(listed_json(rt, row, account_name))
        rt.fragments.put(key, item, len(item) + FRAGMENT_KEY_BYTES)
    return item


@area.post(
    "/instance/statusupdate",
    summary="start, stop, forcestop, reset or destroy an instance",
    answers={
        "200": ok(
            {
                **obj(
                    {
                        "success": BOOL,
                        "message": STR,
                        "sucessCode": STR,
                        "instanceStatus": STR,
                    },
                    optional=("instanceStatus",),
                ),
                "description": 'start: I20008 "running"; stop: success false with '
                "I10025 (asynchronous); forcestop, reset, destroy: see docs.",
            }
        )
    },
    errors=(BAD, MISSING),
    body=StatusUpdate,
    fault="statusupdate",
    qualifier=lambda body: body.status,  # a fault for "statusupdate:stop" strikes a stop only
)
async def status_update(request: Request, who: Caller, body: StatusUpdate) -> Response:
    rt = runtime(request)
    try:
        cmd = Command(body.status.strip().lower())
    except ValueError:
        raise invalid("status", "must be one of start, stop, forcestop, reset, destroy") from None
    await engine(request).change(
        lambda s: instances.command(rt, s, who.account_id, body.instanceId, cmd)
    )
    return _answer(cmd)


def _answer(cmd: Command) -> Response:
    if cmd is Command.START:
        return render.coded_success(STARTED, "I20008", instanceStatus="running")
    if cmd is Command.STOP:
        # Accepted, but reported as success:false (the real service's answer).
        return render.backend({"success": False, "message": STOP_INITIATED, "sucessCode": "I10025"})
    if cmd is Command.FORCESTOP:
        return render.coded_success(STOPPED, "I20009", instanceStatus="shutoff")
    if cmd is Command.RESET:
        return render.coded_success(RESET, RESET_OK, instanceStatus="running")
    return render.coded_success(DESTROYED, "I20010", instanceStatus="shutoff")
