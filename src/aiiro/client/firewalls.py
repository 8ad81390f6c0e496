"""Firewall templates: /webarenaIndigo/v1/nw/...

A template is an allow list for inbound traffic (no outbound rules = all outbound allowed)
assigned to instances. Indigo has no unassign, and a template assigned to an active
instance cannot be deleted (F60009).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiiro.client import instances
from aiiro.client.lookup import Ref, as_id, pick
from aiiro.client.models import Firewall, FirewallTemplate, Outcome, Rule
from aiiro.client.resource import M, Resource, operation
from aiiro.client_core.policy import Call, Engine, Op, Request
from aiiro.client_core.shapes import FIREWALLS

BASE = "/webarenaIndigo/v1/nw"
# Shorthands with a fixed protocol and port, and the rule type sent. ssh and rdp go as
# Custom rules: HTTP, HTTPS and Custom are the types Indigo was seen to take (facts §5).
NAMED = {
    "http": ("HTTP", "TCP", "80"),
    "https": ("HTTPS", "TCP", "443"),
    "ssh": ("Custom", "TCP", "22"),
    "rdp": ("Custom", "TCP", "3389"),
}


def parse_rule(spec: str | dict[str, Any]) -> Rule:
    """A rule from a short spec or from the API's own object.

    Specs: `tcp:22`, `udp:123`, `tcp:8000-8100`, `icmp`, `http`, `https`, `ssh` (tcp:22),
    `rdp` (tcp:3389), each optionally
    followed by `@SOURCE` (an address or CIDR; default 0.0.0.0, anywhere):
    `tcp:22@203.0.113.5`, `https@198.51.100.0/24`.
    """
    if isinstance(spec, dict):
        rule = Rule.from_api(spec)
        return Rule(rule.protocol.upper(), rule.port, rule.source, rule.type)
    what, _, source = spec.strip().partition("@")
    source = source.strip() or "0.0.0.0"
    proto, _, port = what.strip().partition(":")
    key = proto.lower()
    if key in NAMED and not port:
        kind, protocol, fixed = NAMED[key]
        return Rule(protocol, fixed, source, kind)
    if key == "icmp" and not port:
        return Rule("ICMP", "", source)
    if key in ("tcp", "udp") and port.strip():
        return Rule(key.upper(), port.strip(), source)
    raise ValueError(
        f"bad rule {spec!r}: use tcp:PORT, udp:PORT, icmp, http, https, ssh or rdp, "
        "optionally followed by @SOURCE"
    )


def list_call() -> Call[list[Firewall]]:
    return Call(
        Request("GET", FIREWALLS.path),
        lambda b: [Firewall.from_api(x) for x in FIREWALLS.elements(b)],
    )


def template_call(template_id: int) -> Call[FirewallTemplate]:
    return Call(
        Request("GET", f"{BASE}/gettemplate/{template_id}"),
        lambda b: FirewallTemplate.from_api(template_id, b),
    )


def _rules(rules: Sequence[Rule]) -> list[dict[str, str]]:
    return [r.to_api() for r in rules]


def create_call(
    name: str, inbound: Sequence[Rule], outbound: Sequence[Rule], instance_ids: Sequence[int]
) -> Call[Outcome]:
    body: dict[str, Any] = {"name": name, "inbound": _rules(inbound)}
    if outbound:
        body["outbound"] = _rules(outbound)
    if instance_ids:
        body["instances"] = [str(i) for i in instance_ids]
    return Call(Request("POST", f"{BASE}/createfirewall", body=body), Outcome.from_api)


def update_call(
    template_id: int,
    name: str,
    inbound: Sequence[Rule],
    outbound: Sequence[Rule],
    instance_ids: Sequence[int] | None,
) -> Call[Outcome]:
    """Replaces the rule set. (The answer echoes `firewallId` as the string sent.)"""
    body: dict[str, Any] = {
        "templateid": str(template_id),
        "name": name,
        "inbound": _rules(inbound),
        "outbound": _rules(outbound),
    }
    if instance_ids is not None:
        body["instances"] = [str(i) for i in instance_ids]
    return Call(Request("PUT", f"{BASE}/updatefirewall", body=body), Outcome.from_api)


def assign_call(template_id: int, instance_id: int) -> Call[Outcome]:
    body = {"instanceid": str(instance_id), "templateid": str(template_id)}
    return Call(Request("POST", f"{BASE}/assign", body=body), Outcome.from_api)


def delete_call(template_id: int) -> Call[Outcome]:
    return Call(Request("DELETE", f"{BASE}/deletefirewall/{template_id}"), Outcome.from_api)


# --- ops ----------------------------------------------------------------------------------


def find(e: Engine, ref: Ref) -> Op[Firewall]:
    found = yield from e.run(list_call())
    return pick(found, ref, "firewall template", lambda f: f.id, lambda f: [f.name])


def template_id(e: Engine, ref: Ref) -> Op[int]:
    known = as_id(ref)
    if known is not None:
        return known
    return (yield from find(e, ref)).id


def get(e: Engine, ref: Ref) -> Op[FirewallTemplate]:
    """A template with its rules; the name comes from the list when it has no rules."""
    fw = yield from find(e, ref)
    template = yield from e.run(template_call(fw.id))
    return FirewallTemplate(fw.id, fw.name, template.inbound, template.outbound)


def _instance_ids(e: Engine, refs: Sequence[Ref] | None) -> Op[list[int] | None]:
    if refs is None:
        return None
    ids = []
    for ref in refs:
        ids.append((yield from instances.instance_id(e, ref)))
    return ids


def create(
    e: Engine,
    name: str,
    inbound: Sequence[Rule] = (),
    outbound: Sequence[Rule] = (),
    instance_refs: Sequence[Ref] = (),
) -> Op[Outcome]:
    ids = yield from _instance_ids(e, instance_refs)
    return (yield from e.run(create_call(name, inbound, outbound, ids or [])))


def update(
    e: Engine,
    ref: Ref,
    name: str | None = None,
    inbound: Sequence[Rule] | None = None,
    outbound: Sequence[Rule] | None = None,
    instance_refs: Sequence[Ref] | None = None,
) -> Op[Outcome]:
    """Update; what is not given keeps its current value."""
    current = yield from get(e, ref)
    ids = yield from _instance_ids(e, instance_refs)
    call = update_call(
        current.id,
        name if name is not None else current.name or "",
        inbound if inbound is not None else current.inbound,
        outbound if outbound is not None else current.outbound,
        ids,
    )
    return (yield from e.run(call))


def assign(e: Engine, ref: Ref, instance: Ref) -> Op[Outcome]:
    tid = yield from template_id(e, ref)
    iid = yield from instances.instance_id(e, instance)
    return (yield from e.run(assign_call(tid, iid)))


def delete(e: Engine, ref: Ref) -> Op[Outcome]:
    tid = yield from template_id(e, ref)
    return (yield from e.run(delete_call(tid)))


# --- the resource ----------------------------------------------------------------------------


class Firewalls(Resource[M]):
    """Firewall templates: `indigo.firewalls`."""

    @operation
    def list(self) -> Op[list[Firewall]]:
        """Every template of the account (without their rules)."""
        return self._e.run(list_call())

    @operation
    def get(self, ref: Ref) -> Op[FirewallTemplate]:
        """A template and its rules, by id or name."""
        return get(self._e, ref)

    @operation
    def create(
        self,
        name: str,
        inbound: Sequence[Rule] = (),
        outbound: Sequence[Rule] = (),
        instances: Sequence[Ref] = (),
    ) -> Op[Outcome]:
        """Create a template (and assign it to `instances`); `.firewall_id` is its id."""
        return create(self._e, name, inbound, outbound, instances)

    @operation
    def update(
        self,
        ref: Ref,
        *,
        name: str | None = None,
        inbound: Sequence[Rule] | None = None,
        outbound: Sequence[Rule] | None = None,
        instances: Sequence[Ref] | None = None,
    ) -> Op[Outcome]:
        """Replace some of name, rule sets and instances; what is not given stays."""
        return update(self._e, ref, name, inbound, outbound, instances)

    @operation
    def assign(self, ref: Ref, instance: Ref) -> Op[Outcome]:
        """Assign the template to an instance (Indigo has no unassign)."""
        return assign(self._e, ref, instance)

    @operation
    def delete(self, ref: Ref) -> Op[Outcome]:
        """Delete a template (F60009 while it is assigned to an active instance)."""
        return delete(self._e, ref)
