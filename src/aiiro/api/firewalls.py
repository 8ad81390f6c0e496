"""Firewall templates: /webarenaIndigo/v1/nw/... (and the admin probe under /_aiiro)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import WithJsonSchema, model_validator
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from aiiro.api import render
from aiiro.api.auth import engine, runtime
from aiiro.api.body import Body, Id, path_id
from aiiro.api.endpoint import Area
from aiiro.api.openapi import BAD, INT, MISSING, arr, coded, ok, ref
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
    # The templateid as sent: the answer echoes it so (a string, usually), as the real
    # API does.
    sent_templateid: SkipJsonSchema[Any] = None

    @model_validator(mode="before")
    @classmethod
    def _keep_as_sent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {**data, "sent_templateid": data.get("templateid")}
        return data


class AssignFirewall(Body):
    instanceid: IdParam
    templateid: IdParam


area = Area("/webarenaIndigo/v1/nw", tag="firewalls")


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


@area.post(
    "/createfirewall",
    summary="Create a firewall template (and assign it to `instances`)",
    answers={
        "200": ok(
            coded("F60002", "Firewall template has been created successfully.", firewallId=INT)
        )
    },
    errors=(BAD, MISSING),
    body=CreateFirewall,
    fault="createfirewall",
)
async def create_firewall(request: Request, who: Caller, body: CreateFirewall) -> Response:
    rt = runtime(request)

    def made(s: Session) -> int:
        fw = firewalls.create(
            rt, s, who.account_id, body.name, body.inbound, body.outbound, body.instances
        )
        return fw.id

    fw_id = await engine(request).change(made)
    return render.coded_success(
        "Firewall template has been created successfully.", "F60002", firewallId=fw_id
    )


@area.get(
    "/getfirewalllist",
    summary="List firewall templates (a bare array)",
    answers={"200": ok(arr(ref("Firewall")), "A bare array")},
    fault="getfirewalllist",
)
async def list_firewalls(request: Request, who: Caller) -> Response:
    with runtime(request).db.read() as s:
        return render.backend([listed(fw) for fw in firewalls.list_templates(s, who.account_id)])


@area.get(
    "/gettemplate/{firewall_id}",
    summary="A template's rules: an array, one object per rule, in the order sent",
    answers={"200": ok(arr(ref("FirewallRule")), "One object per rule, in the order sent")},
    errors=(MISSING,),
    fault="gettemplate",
)
async def get_template(request: Request, who: Caller, firewall_id: str) -> Response:
    with runtime(request).db.read() as s:
        fw = firewalls.get(s, who.account_id, path_id(firewall_id))
        return render.backend([template_rule(fw, r) for r in firewalls.rules(s, fw.id)])


@area.put(
    "/updatefirewall",
    summary="Replace a template's name and rules (and assign it to `instances`)",
    answers={
        "200": ok(
            coded(
                "F6004",
                "Firewall template is updated successfully.",
                firewallId={"type": ["string", "integer"]},
            ),
            "firewallId echoes the request's templateid as sent (a string, usually)",
        )
    },
    errors=(BAD, MISSING),
    body=UpdateFirewall,
    fault="updatefirewall",
)
async def update_firewall(request: Request, who: Caller, body: UpdateFirewall) -> Response:
    rt = runtime(request)
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
        "Firewall template is updated successfully.", "F6004", firewallId=body.sent_templateid
    )


@area.post(
    "/assign",
    summary="Assign a template to an instance (replacing the one it had)",
    answers={"200": ok(coded("F60003", "Firewall template is assigned successfully."))},
    errors=(BAD, MISSING),
    body=AssignFirewall,
    fault="assign",
)
async def assign_firewall(request: Request, who: Caller, body: AssignFirewall) -> Response:
    rt = runtime(request)
    await engine(request).change(
        lambda s: firewalls.assign(rt, s, who.account_id, body.instanceid, body.templateid)
    )
    return render.coded_success("Firewall template is assigned successfully.", "F60003")


@area.delete(
    "/deletefirewall/{firewall_id}",
    summary="Delete a template (F60009 while an instance that is not destroyed has it)",
    answers={"200": ok(coded("F6005", "Firewall template has been deleted successfully."))},
    errors=(BAD, MISSING),
    fault="deletefirewall",
)
async def delete_firewall(request: Request, who: Caller, firewall_id: str) -> Response:
    rt = runtime(request)
    await engine(request).change(
        lambda s: firewalls.delete_template(rt, s, who.account_id, path_id(firewall_id))
    )
    return render.coded_success("Firewall template has been deleted successfully.", "F6005")
