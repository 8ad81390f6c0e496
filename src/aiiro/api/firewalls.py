"""Firewall templates: /webarenaIndigo/v1/nw/... (and the admin probe under /_aiiro)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import WithJsonSchema
from sqlalchemy.orm import Session
from starlette.responses import Response

from aiiro.api import render
from aiiro.api.auth import caller, engine, runtime
from aiiro.api.body import Body, Id, body_schema, json_object, path_id, validate
from aiiro.domain import firewalls
from aiiro.domain.accounts import Caller, service_id
from aiiro.domain.firewall_rules import TYPES
from aiiro.store.models import Firewall, FirewallRule

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

    def made(s: Session) -> int:
        fw = firewalls.create(
            rt, s, who.account_id, body.name, body.inbound, body.outbound, body.instances
        )
        return fw.id

    fw_id = await engine(request).change(made)
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
    await engine(request).change(
        lambda s: firewalls.update(
            rt,
            s,
            who.account_id,
            body.templateid,
            body.name,
            body.inbound,
            body.outbound,
            body.instances,
        )
    )
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
    await engine(request).change(
        lambda s: firewalls.assign(rt, s, who.account_id, body.instanceid, body.templateid)
    )
    return render.coded_success("Firewall template is assigned successfully.", "F60003")


@indigo.delete(
    "/deletefirewall/{firewall_id}",
    summary="Delete a template (F60009 while an instance that is not destroyed has it)",
)
async def delete_firewall(
    firewall_id: str, request: Request, who: Caller = Depends(caller)
) -> Response:
    rt = runtime(request)
    await engine(request).change(
        lambda s: firewalls.delete_template(rt, s, who.account_id, path_id(firewall_id))
    )
    return render.coded_success("Firewall template has been deleted successfully.", "F6005")


router = indigo
