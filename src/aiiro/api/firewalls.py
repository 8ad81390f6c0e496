"""Firewall templates: /webarenaIndigo/v1/nw/... (and the admin probe under /_aiiro)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import WithJsonSchema
from starlette.responses import JSONResponse, Response

from aiiro.api import render
from aiiro.api.admin import admin
from aiiro.api.auth import caller, runtime
from aiiro.api.body import Body, Id, body_schema, json_object, parse, path_id, validate
from aiiro.domain import enforce, firewall_rules, firewalls, reachability
from aiiro.domain.accounts import Caller, service_id
from aiiro.domain.errors import INSTANCE_NOT_FOUND, INVALID_FIELD, IndigoError, not_found
from aiiro.domain.firewall_rules import TYPES
from aiiro.engine.worker import engine_of
from aiiro.store.models import Firewall, FirewallRule, Instance

RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "A rule: all strings. A named type implies protocol and port (HTTP: TCP 80, "
        "HTTPS: TCP 443, SSH: TCP 22, RDP: TCP 3389, All TCP / All UDP: every port, "
        'ICMP); Custom takes both from the rule. port: a number, a range "a-b", '
        '"All Ports", or "" for ICMP. source: an address or CIDR; "0.0.0.0" means '
        "anywhere."
    ),
    "properties": {
        "type": {"type": "string", "enum": list(TYPES)},
        "protocol": {"type": "string", "enum": ["TCP", "UDP", "ICMP"]},
        "port": {"type": "string", "examples": ["22", "1000-2000", "All Ports", ""]},
        "source": {"type": "string", "examples": ["0.0.0.0", "203.0.113.5", "10.0.0.0/8"]},
    },
    "required": ["source"],
}
# Rules are validated one by one by the rule engine (precise Indigo-shaped 400s), so the
# body model takes them as they come and only documents their shape.
Rules = Annotated[list[Any] | None, WithJsonSchema({"type": "array", "items": RULE_SCHEMA})]
Ids = Annotated[
    list[Id] | None,
    WithJsonSchema(
        {"type": "array", "items": {"type": ["string", "integer"], "pattern": "^[0-9]+$"}}
    ),
]
IdParam = Annotated[Id, WithJsonSchema({"type": ["string", "integer"], "pattern": "^[0-9]+$"})]


class CreateFirewall(Body):
    name: str
    inbound: Rules = None
    outbound: Rules = None
    instances: Ids = None


class UpdateFirewall(Body):
    templateid: IdParam
    name: str | None = None
    inbound: Rules = None
    outbound: Rules = None
    instances: Ids = None


class AssignFirewall(Body):
    instanceid: IdParam
    templateid: IdParam


indigo = APIRouter(prefix="/webarenaIndigo/v1/nw", tags=["firewalls"])


def listed(fw: Firewall) -> dict[str, Any]:
    return {
        "id": fw.id,
        "service_id": service_id(fw.account_id),
        "user_id": fw.account_id,
        "name": fw.name,
        "status": fw.status,
        "created_at": render.timestamp(fw.created_at),
        "updated_at": render.timestamp(fw.updated_at),
    }


def template_rule(fw: Firewall, rule: FirewallRule) -> dict[str, Any]:
    return {
        "id": fw.id,
        "name": fw.name,
        "direction": rule.direction,
        "type": rule.type,
        "protocol": rule.protocol,
        "port": rule.port,
        "source": rule.source,
    }


@indigo.post(
    "/createfirewall",
    openapi_extra=body_schema(CreateFirewall),
    summary="Create a firewall template (and assign it to `instances`)",
)
async def create_firewall(request: Request, who: Caller = Depends(caller)) -> Response:
    rt = runtime(request)
    body = validate(CreateFirewall, await json_object(request))
    with rt.db.write() as s:
        fw = firewalls.create(
            rt, s, who.account_id, body.name, body.inbound, body.outbound, body.instances
        )
        fw_id = fw.id
    enforce.after_change(rt)
    return render.coded_success(
        "Firewall template has been created successfully.", "F60002", firewallId=fw_id
    )


@indigo.get("/getfirewalllist", summary="List firewall templates (a bare array)")
async def list_firewalls(request: Request, who: Caller = Depends(caller)) -> Response:
    with runtime(request).db.read() as s:
        return render.backend([listed(fw) for fw in firewalls.list_templates(s, who.account_id)])


@indigo.get(
    "/gettemplate/{firewall_id}",
    summary="A template's rules: an array, one object per rule, in the order sent",
)
async def get_template(
    firewall_id: str, request: Request, who: Caller = Depends(caller)
) -> Response:
    with runtime(request).db.read() as s:
        fw = firewalls.get(s, who.account_id, path_id(firewall_id))
        return render.backend([template_rule(fw, r) for r in firewalls.rules(s, fw.id)])


@indigo.put(
    "/updatefirewall",
    openapi_extra=body_schema(UpdateFirewall),
    summary="Replace a template's name and rules (and assign it to `instances`)",
)
async def update_firewall(request: Request, who: Caller = Depends(caller)) -> Response:
    rt = runtime(request)
    data = await json_object(request)
    body = validate(UpdateFirewall, data)
    with rt.db.write() as s:
        firewalls.update(
            rt,
            s,
            who.account_id,
            body.templateid,
            body.name,
            body.inbound,
            body.outbound,
            body.instances,
        )
    enforce.after_change(rt)
    # The real API echoes the request's templateid as sent: "12836" comes back a string.
    return render.coded_success(
        "Firewall template is updated successfully.", "F6004", firewallId=data["templateid"]
    )


@indigo.post(
    "/assign",
    openapi_extra=body_schema(AssignFirewall),
    summary="Assign a template to an instance (replacing the one it had)",
)
async def assign_firewall(request: Request, who: Caller = Depends(caller)) -> Response:
    rt = runtime(request)
    body = validate(AssignFirewall, await json_object(request))
    with rt.db.write() as s:
        firewalls.assign(rt, s, who.account_id, body.instanceid, body.templateid)
    enforce.after_change(rt)
    return render.coded_success("Firewall template is assigned successfully.", "F60003")


@indigo.delete(
    "/deletefirewall/{firewall_id}",
    summary="Delete a template (F60009 while an instance that is not destroyed has it)",
)
async def delete_firewall(
    firewall_id: str, request: Request, who: Caller = Depends(caller)
) -> Response:
    rt = runtime(request)
    with rt.db.write() as s:
        firewalls.delete_template(rt, s, who.account_id, path_id(firewall_id))
    return render.coded_success("Firewall template has been deleted successfully.", "F6005")


# --- admin: would this instance admit a packet? ----------------------------------------

admin_router = APIRouter(prefix="/_aiiro", tags=["admin"], dependencies=[Depends(admin)])


class Probe(Body):
    source: str
    port: int | None = None
    protocol: str = "TCP"
    direction: Literal["in", "out"] = "in"


@admin_router.get(
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


@admin_router.post(
    "/instances/{instance_id}/probe",
    openapi_extra=body_schema(Probe),
    summary="The probe, with the packet as a JSON body",
)
async def probe_post(instance_id: str, request: Request) -> Response:
    return _probe(request, instance_id, await parse(request, Probe))


def _probe(request: Request, raw_id: str, p: Probe) -> Response:
    rt = runtime(request)
    engine_of(rt).settle()
    instance_id = path_id(raw_id)
    with rt.db.read() as s:
        inst = s.get(Instance, instance_id) if instance_id is not None else None
        if inst is None or inst.removed_at is not None:
            raise not_found(INSTANCE_NOT_FOUND, "Instance not found.")
        found = reachability.check(rt, s, inst)
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


@admin_router.get(
    "/firewalls/assignments",
    summary="Which template each instance carries (the Indigo API never says)",
)
async def firewall_assignments(request: Request) -> Response:
    rt = runtime(request)
    with rt.db.read() as s:
        held = firewalls.assignments(s)
    return JSONResponse([{"instanceId": i, "templateId": t} for i, t in held])


router = APIRouter()
router.include_router(indigo)
router.include_router(admin_router)
