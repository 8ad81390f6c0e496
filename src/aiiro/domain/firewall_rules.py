"""The firewall rule engine: what a rule may say, and what a template admits.

Every compute driver asks this module, never its own copy of the rules:
- `parse_rule` validates one rule as a client sends it and gives a `TemplateRule`:
  the rule as stored and shown by gettemplate (the client's spelling kept, so a client
  that reads its template back sees what it wrote) plus the enforced form.
- `admits` / `decide` answer "does this template let a packet through?".

The enforced form is `aiiro.compute.driver.FirewallRule` (direction, protocol, port,
source, all strings, as Indigo writes them); its port and source are read as numbers
there (`port_range`, `networks`), beside it, for this module and for drivers that compile
rules (libvirt nwfilter).

Semantics (indigo-api-facts.md §5):
- no template assigned: nothing is filtered;
- inbound: an allow list: admitted only when some inbound rule matches;
- outbound: everything is allowed while the template has no outbound rules; once it has
  one, an allow list like inbound.
Rules are stateless allow entries; replies to an admitted connection are admitted (the
drivers keep connection state, as any host firewall does).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from aiiro.compute.driver import ALL_PORTS, FirewallRule, port_range, source_networks
from aiiro.domain.errors import FIREWALL_RULE_INVALID, IndigoError

Direction = Literal["in", "out"]
Protocol = Literal["TCP", "UDP", "ICMP"]
PROTOCOLS: tuple[Protocol, ...] = get_args(Protocol)
CUSTOM = "Custom"
# Named types fix the protocol and the port; "Custom" takes both from the rule.
# HTTP, HTTPS, Custom are observed; All TCP / All UDP come from a client's examples;
# SSH, RDP and ICMP are aiiro's, for the services the panel offers.
TYPES: dict[str, tuple[Protocol, str] | None] = {
    CUSTOM: None,
    "HTTP": ("TCP", "80"),
    "HTTPS": ("TCP", "443"),
    "SSH": ("TCP", "22"),
    "RDP": ("TCP", "3389"),
    "All TCP": ("TCP", ALL_PORTS),
    "All UDP": ("UDP", ALL_PORTS),
    "ICMP": ("ICMP", ""),
}
MAX_RULES = 100  # per template, both directions together (aiiro's limit)
MAX_FIELD = 64


@dataclass(frozen=True)
class TemplateRule:
    """One rule of a template, as stored and shown (gettemplate)."""

    direction: Direction
    type: str
    protocol: Protocol
    port: str
    source: str

    def enforced(self) -> FirewallRule:
        return FirewallRule(self.direction, self.protocol, self.port, self.source)


@dataclass(frozen=True)
class Decision:
    admitted: bool
    reason: str
    rule: int | None = None  # index in the rule list of the rule that admitted


# --- validation ---------------------------------------------------------------------------


def parse_rules(
    inbound: Sequence[Any] | None, outbound: Sequence[Any] | None
) -> list[TemplateRule]:
    """A template's rules, inbound first then outbound, each list in the order sent."""
    rules = [parse_rule(raw, "in", i) for i, raw in enumerate(inbound or [])]
    rules += [parse_rule(raw, "out", i) for i, raw in enumerate(outbound or [])]
    if len(rules) > MAX_RULES:
        raise IndigoError(
            400, FIREWALL_RULE_INVALID, f"A template holds at most {MAX_RULES} rules."
        )
    return rules


def parse_rule(raw: Any, direction: Direction, index: int = 0) -> TemplateRule:
    where = f"{'inbound' if direction == 'in' else 'outbound'}[{index}]"

    def bad(why: str) -> IndigoError:
        return IndigoError(400, FIREWALL_RULE_INVALID, f"Invalid firewall rule {where}: {why}.")

    if not isinstance(raw, Mapping):
        raise bad("a rule is an object with type, protocol, port and source")
    type_raw = _text(raw.get("type"), "type", bad)
    proto_raw = _text(raw.get("protocol"), "protocol", bad)
    port_raw = _text(raw.get("port"), "port", bad)
    source = _text(raw.get("source"), "source", bad)

    rule_type = next((t for t in TYPES if t.lower() == type_raw.lower()), None)
    if rule_type is None and type_raw == "":
        rule_type = CUSTOM
    if rule_type is None:
        raise bad(f"type must be one of {', '.join(TYPES)}")
    protocol = next((p for p in PROTOCOLS if p == proto_raw.upper()), None)
    if proto_raw and protocol is None:
        raise bad("protocol must be TCP, UDP or ICMP")

    implied = TYPES[rule_type]
    if implied is not None:
        want_proto, want_port = implied
        if protocol is not None and protocol != want_proto:
            raise bad(f"type {rule_type} is protocol {want_proto}")
        protocol = want_proto
        if port_raw == "":
            port_raw = want_port
        elif port_range(port_raw, strict=False) != port_range(want_port, strict=False):
            raise bad(f"type {rule_type} is port {want_port or 'none'}")
    if protocol is None:
        raise bad("protocol is required")

    if protocol == "ICMP":
        if port_raw not in ("", ALL_PORTS):
            raise bad('an ICMP rule has no port (send "")')
        port = ""
    else:
        if port_raw == "":
            raise bad('port is required: a number, a range "a-b" or "All Ports"')
        if port_range(port_raw, strict=False) is None:
            raise bad('port must be a number 1-65535, a range "a-b" or "All Ports"')
        port = port_raw

    if source == "":
        raise bad("source is required (an address, a CIDR, or 0.0.0.0 for anywhere)")
    if not source_networks(source):
        raise bad("source must be an IPv4/IPv6 address or CIDR, or 0.0.0.0 for anywhere")
    return TemplateRule(direction, rule_type, protocol, port, source)


def _text(value: Any, name: str, bad: Any) -> str:
    """A rule field as a string: strings as sent (trimmed), numbers accepted for port."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise bad(f"{name} must be a string")
    if isinstance(value, int) and name == "port":
        return str(value)
    if not isinstance(value, str):
        raise bad(f"{name} must be a string")
    text = value.strip()
    if len(text) > MAX_FIELD:
        raise bad(f"{name} is too long")
    return text


# --- the decision -------------------------------------------------------------------------


def admits(
    rules: Sequence[FirewallRule] | None,
    direction: Direction,
    remote: str,
    port: int | None,
    protocol: str,
) -> bool:
    """Would the template let this packet through? `remote` is the source of an inbound
    packet or the destination of an outbound one; `port` is the instance's port for
    inbound, the remote port for outbound (ignored for ICMP)."""
    return decide(rules, direction, remote, port, protocol).admitted


def decide(
    rules: Sequence[FirewallRule] | None,
    direction: Direction,
    remote: str,
    port: int | None,
    protocol: str,
) -> Decision:
    address = ipaddress.ip_address(remote.strip())
    proto = protocol.upper()
    if proto not in PROTOCOLS:
        raise ValueError(f"invalid protocol {protocol!r}")
    if proto != "ICMP" and (port is None or not 1 <= port <= 65535):
        raise ValueError("a TCP or UDP packet needs a port 1-65535")
    if rules is None:
        return Decision(True, "no firewall template is assigned: nothing is filtered")
    own = [(i, r) for i, r in enumerate(rules) if r.direction == direction]
    name = "inbound" if direction == "in" else "outbound"
    if direction == "out" and not own:
        return Decision(True, "the template has no outbound rules: all outbound is allowed")
    for i, rule in own:
        if _matches(rule, address, port, proto):
            return Decision(True, f"admitted by {name} rule {describe(rule)}", i)
    return Decision(False, f"no {name} rule of the template admits it")


def _matches(
    rule: FirewallRule,
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    port: int | None,
    protocol: Protocol,
) -> bool:
    if rule.protocol != protocol:
        return False
    if protocol != "ICMP":
        span = port_range(rule.port, strict=False)
        if span is None or port is None or not span[0] <= port <= span[1]:
            return False
    nets = source_networks(rule.source)
    return any(address in net for net in nets if net.version == address.version)


def describe(rule: FirewallRule) -> str:
    port = f" {rule.port}" if rule.port else ""
    peer = "from" if rule.direction == "in" else "to"
    return f"{rule.protocol}{port} {peer} {rule.source}"
