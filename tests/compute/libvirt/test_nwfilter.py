"""The nwfilter a template compiles to admits exactly what the rule engine admits.

`evaluate` reads the filter XML the way libvirt applies it (rules by priority, the first
that matches decides; accepted when none does) for a new connection, and is compared
with aiiro.domain.firewall_rules.decide over many packets and templates."""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from aiiro.compute.driver import FirewallRule
from aiiro.compute.libvirt.nwfilter import filter_name, filter_xml
from aiiro.domain.firewall_rules import decide

_FAMILY = {
    "all": (4, None),
    "all-ipv6": (6, None),
    "tcp": (4, "TCP"),
    "udp": (4, "UDP"),
    "icmp": (4, "ICMP"),
    "tcp-ipv6": (6, "TCP"),
    "udp-ipv6": (6, "UDP"),
    "icmpv6": (6, "ICMP"),
}


def evaluate(xml: str, direction: str, remote: str, port: int | None, protocol: str) -> bool:
    root = ET.fromstring(xml)
    address = ipaddress.ip_address(remote)
    rules = sorted(root.findall("rule"), key=lambda r: int(r.get("priority", "500")))
    for rule in rules:
        if rule.get("direction") not in (direction, "inout"):
            continue
        (match,) = list(rule)
        version, proto = _FAMILY[match.tag]
        if version != address.version or (proto is not None and proto != protocol):
            continue
        if "state" in match.attrib and "NEW" not in match.get("state", "").split(","):
            continue
        side = "src" if direction == "in" else "dst"
        if f"{side}ipaddr" in match.attrib:
            net = ipaddress.ip_network(
                f"{match.get(f'{side}ipaddr')}/{match.get(f'{side}ipmask')}", strict=False
            )
            if address not in net:
                continue
        if "dstportstart" in match.attrib:
            lo, hi = int(match.get("dstportstart", "0")), int(match.get("dstportend", "0"))
            if port is None or not lo <= port <= hi:
                continue
        return rule.get("action") == "accept"
    return True


def test_filter_always_has_anti_spoofing() -> None:
    for rules in (None, [], [FirewallRule("in", "TCP", "22", "0.0.0.0")]):
        root = ET.fromstring(filter_xml("f", None, rules))
        assert [f.get("filter") for f in root.findall("filterref")] == ["clean-traffic"]


def test_no_template_filters_nothing_but_spoofing() -> None:
    root = ET.fromstring(filter_xml("aiiro-instance-3", None, None))
    assert root.findall("rule") == []
    assert evaluate(filter_xml("f", None, None), "in", "203.0.113.9", 22, "TCP")


def test_redefinition_carries_the_uuid() -> None:
    uuid = "847cdc64-67e7-46b0-a20c-ccecba9089f1"
    root = ET.fromstring(filter_xml(filter_name("aiiro-", 12), uuid, []))
    assert root.get("name") == "aiiro-instance-12"
    assert root.findtext("uuid") == uuid


def test_inbound_allow_list_by_source() -> None:
    xml = filter_xml("f", None, [FirewallRule("in", "TCP", "22", "198.19.255.10")])
    assert evaluate(xml, "in", "198.19.255.10", 22, "TCP")
    assert not evaluate(xml, "in", "198.19.255.11", 22, "TCP")
    assert not evaluate(xml, "in", "198.19.255.10", 80, "TCP")
    # no outbound rules: outbound is open
    assert evaluate(xml, "out", "203.0.113.1", 443, "TCP")


def test_replies_to_admitted_connections_pass() -> None:
    root = ET.fromstring(filter_xml("f", None, [FirewallRule("in", "TCP", "22", "1.2.3.4")]))
    first = sorted(root.findall("rule"), key=lambda r: int(r.get("priority", "0")))[0]
    assert first.get("action") == "accept" and first.get("direction") == "inout"
    assert first[0].get("state") == "ESTABLISHED,RELATED"


def test_anywhere_covers_both_families() -> None:
    xml = filter_xml("f", None, [FirewallRule("in", "TCP", "80", "0.0.0.0")])
    assert evaluate(xml, "in", "203.0.113.5", 80, "TCP")
    assert evaluate(xml, "in", "2001:db8::5", 80, "TCP")
    tags = {m.tag for r in ET.fromstring(xml).findall("rule") for m in r}
    assert {"tcp", "tcp-ipv6"} <= tags


def test_outbound_allow_list_once_there_is_an_outbound_rule() -> None:
    xml = filter_xml(
        "f",
        None,
        [FirewallRule("in", "ICMP", "", "0.0.0.0"), FirewallRule("out", "UDP", "53", "9.9.9.9")],
    )
    assert evaluate(xml, "out", "9.9.9.9", 53, "UDP")
    assert not evaluate(xml, "out", "9.9.9.9", 443, "TCP")
    assert evaluate(xml, "in", "203.0.113.1", None, "ICMP")


rule_st = st.builds(
    FirewallRule,
    direction=st.sampled_from(["in", "out"]),
    protocol=st.sampled_from(["TCP", "UDP", "ICMP"]),
    port=st.sampled_from(["22", "80", "1000-2000", "All Ports"]),
    source=st.sampled_from(
        ["0.0.0.0", "198.19.255.10", "198.19.0.0/16", "203.0.113.0/24", "2001:db8::/32", "::"]
    ),
).map(lambda r: FirewallRule(r.direction, r.protocol, "" if r.protocol == "ICMP" else r.port,
                             r.source))  # fmt: skip

packet_st = st.tuples(
    st.sampled_from(["in", "out"]),
    st.sampled_from(
        ["198.19.255.10", "198.19.1.1", "203.0.113.77", "192.0.2.1", "2001:db8::1", "2001:db9::1"]
    ),
    st.sampled_from([22, 80, 1500, 3000, 53]),
    st.sampled_from(["TCP", "UDP", "ICMP"]),
)


@settings(max_examples=300, deadline=None)
@given(rules=st.none() | st.lists(rule_st, max_size=5), packets=st.lists(packet_st, min_size=1))
def test_filter_admits_exactly_what_the_rule_engine_admits(
    rules: list[FirewallRule] | None, packets: list[tuple[str, str, int, str]]
) -> None:
    xml = filter_xml("f", None, rules)
    for direction, remote, port, protocol in packets:
        want = decide(rules, direction, remote, port, protocol).admitted  # type: ignore[arg-type]
        assert evaluate(xml, direction, remote, port, protocol) == want, (
            rules,
            direction,
            remote,
            port,
            protocol,
        )
