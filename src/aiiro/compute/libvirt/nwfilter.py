"""A firewall template as a libvirt nwfilter on the instance's interface.

What is admitted is decided by aiiro.domain.firewall_rules (the same engine the sim driver
asks); this module only writes those semantics in nwfilter's words:

- always `clean-traffic`: the guest cannot spoof its MAC, IP or ARP;
- no template: nothing else, every packet passes;
- a template: replies to admitted connections pass (connection tracking); a new inbound
  connection passes when an inbound rule matches; outbound passes freely while the
  template has no outbound rules, else only where an outbound rule matches; the rest is
  dropped.

Each instance has its own filter (`aiiro-instance-<id>` by default), referenced from its interface
when the domain is defined, so assigning or changing a template is a redefinition of that
filter, which libvirt applies live. A redefinition must carry the filter's uuid.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from aiiro.compute.driver import FirewallRule, networks, port_range

ANTI_SPOOFING = "clean-traffic"
# nwfilter priorities: lower runs first.
PRIO_REPLIES = 100
PRIO_RULES = 200
PRIO_OUT_OPEN = 300
PRIO_DROP = 1000

_PROTO = {
    ("TCP", 4): "tcp",
    ("UDP", 4): "udp",
    ("ICMP", 4): "icmp",
    ("TCP", 6): "tcp-ipv6",
    ("UDP", 6): "udp-ipv6",
    ("ICMP", 6): "icmpv6",
}


def filter_name(prefix: str, instance_id: int) -> str:
    return f"{prefix}instance-{instance_id}"


def filter_xml(name: str, uuid: str | None, rules: Sequence[FirewallRule] | None) -> str:
    root = ET.Element("filter", name=name, chain="root")
    if uuid:
        ET.SubElement(root, "uuid").text = uuid
    ET.SubElement(root, "filterref", filter=ANTI_SPOOFING)
    if rules is not None:
        for family in ("all", "all-ipv6"):
            rule = _rule(root, "accept", "inout", PRIO_REPLIES)
            ET.SubElement(rule, family, state="ESTABLISHED,RELATED")
        for fw in rules:
            for proto, attrs in _matches(fw):
                rule = _rule(root, "accept", fw.direction, PRIO_RULES)
                ET.SubElement(rule, proto, attrs)
        if not any(fw.direction == "out" for fw in rules):
            for family in ("all", "all-ipv6"):
                rule = _rule(root, "accept", "out", PRIO_OUT_OPEN)
                ET.SubElement(rule, family, state="NEW")
        for family in ("all", "all-ipv6"):
            rule = _rule(root, "drop", "inout", PRIO_DROP)
            ET.SubElement(rule, family)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def _rule(root: ET.Element, action: str, direction: str, priority: int) -> ET.Element:
    return ET.SubElement(root, "rule", action=action, direction=direction, priority=str(priority))


def _matches(fw: FirewallRule) -> list[tuple[str, dict[str, str]]]:
    """The nwfilter protocol elements of one rule: one per address family it covers.

    For an inbound rule the remote end is the packet's source and the port the guest's
    (destination) port; for an outbound rule the remote end is the destination."""
    out: list[tuple[str, dict[str, str]]] = []
    span = port_range(fw.port, strict=False) if fw.protocol != "ICMP" else None
    remote = "src" if fw.direction == "in" else "dst"
    for net in networks(fw.source):
        attrs = {"state": "NEW"}
        if net.prefixlen > 0:
            attrs[f"{remote}ipaddr"] = str(net.network_address)
            attrs[f"{remote}ipmask"] = str(net.prefixlen)
        if span is not None:
            attrs["dstportstart"], attrs["dstportend"] = str(span[0]), str(span[1])
        out.append((_PROTO[(fw.protocol, net.version)], attrs))
    return out
