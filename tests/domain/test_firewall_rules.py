"""The firewall rule engine, checked against a reference formulation written another way
(integers and bit shifts instead of ipaddress networks, sets of ports instead of ranges)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiiro.compute import driver
from aiiro.compute.driver import FirewallRule
from aiiro.domain import firewall_rules as fw
from aiiro.domain.errors import IndigoError

# --- the reference --------------------------------------------------------------------------

ANY_SOURCES = {"0.0.0.0", "0.0.0.0/0", "::", "::/0"}


def ref_ports(port: str) -> set[int] | None:
    """The ports a rule covers; None means "not a port rule" (ICMP)."""
    if port == "":
        return None
    if port.lower() == "all ports":
        return set(range(1, 65536))
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", port)
    assert m, port
    lo = int(m.group(1))
    hi = int(m.group(2) or lo)
    return set(range(lo, hi + 1))


def ref_source_has(source: str, remote: str) -> bool:
    if source in ANY_SOURCES:
        return True
    base, _, plen = source.partition("/")
    v4_rule, v4_remote = "." in base, "." in remote
    if v4_rule != v4_remote:
        return False
    bits = 32 if v4_rule else 128
    keep = int(plen) if plen else bits
    if keep == 0:
        return True
    a = int(ipaddress.ip_address(base))
    b = int(ipaddress.ip_address(remote))
    return (a >> (bits - keep)) == (b >> (bits - keep))


def ref_admits(
    rules: list[FirewallRule] | None, direction: str, remote: str, port: int, protocol: str
) -> bool:
    if rules is None:
        return True
    mine = [r for r in rules if r.direction == direction]
    if direction == "out" and len(mine) == 0:
        return True
    for r in mine:
        if r.protocol != protocol:
            continue
        ports = ref_ports(r.port)
        if protocol != "ICMP" and (ports is None or port not in ports):
            continue
        if ref_source_has(r.source, remote):
            return True
    return False


# --- strategies (small pools, so that packets often hit rules) --------------------------------

v4_hosts = st.integers(0, 15).map(lambda i: f"10.0.0.{i * 16 + 3}")
v6_hosts = st.integers(0, 15).map(lambda i: f"2001:db8::{i * 16 + 3:x}")
remotes = st.one_of(v4_hosts, v6_hosts, st.just("203.0.113.5"))
sources = st.one_of(
    st.sampled_from(sorted(ANY_SOURCES)),
    v4_hosts,
    v6_hosts,
    st.builds(lambda h, p: f"{h}/{p}", v4_hosts, st.integers(24, 32)),
    st.builds(lambda h, p: f"{h}/{p}", v6_hosts, st.integers(120, 128)),
)
ports = st.integers(1, 40)


@st.composite
def port_texts(draw: Any) -> str:
    kind = draw(st.sampled_from(["one", "range", "all"]))
    if kind == "all":
        return fw.ALL_PORTS
    lo = draw(ports)
    if kind == "one":
        return str(lo)
    return f"{lo}-{draw(st.integers(lo, 45))}"


@st.composite
def rules_st(draw: Any) -> FirewallRule:
    protocol = draw(st.sampled_from(["TCP", "UDP", "ICMP"]))
    port = "" if protocol == "ICMP" else draw(port_texts())
    return FirewallRule(draw(st.sampled_from(["in", "out"])), protocol, port, draw(sources))


templates = st.one_of(st.none(), st.lists(rules_st(), max_size=6))


@settings(max_examples=600, deadline=None)
@given(
    templates,
    st.sampled_from(["in", "out"]),
    remotes,
    ports,
    st.sampled_from(["TCP", "UDP", "ICMP"]),
)
def test_admits_agrees_with_the_reference(
    rules: list[FirewallRule] | None, direction: Any, remote: str, port: int, protocol: str
) -> None:
    assert fw.admits(rules, direction, remote, port, protocol) == ref_admits(
        rules, direction, remote, port, protocol
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(rules_st(), max_size=6), remotes, ports, st.sampled_from(["TCP", "UDP"]))
def test_stored_rules_enforce_the_same_as_sent(
    rules: list[FirewallRule], remote: str, port: int, protocol: str
) -> None:
    """A rule that went through validation admits exactly what the raw rule did."""
    sent = [
        {"type": "Custom", "protocol": r.protocol, "port": r.port, "source": r.source}
        for r in rules
    ]
    inbound = [s for s, r in zip(sent, rules, strict=True) if r.direction == "in"]
    outbound = [s for s, r in zip(sent, rules, strict=True) if r.direction == "out"]
    stored = [r.enforced() for r in fw.parse_rules(inbound, outbound)]
    for direction in ("in", "out"):
        assert fw.admits(stored, direction, remote, port, protocol) == ref_admits(
            rules, direction, remote, port, protocol
        )


# --- semantics named by the issue --------------------------------------------------------


def rule(direction: Any, protocol: Any, port: str, source: str) -> FirewallRule:
    return FirewallRule(direction, protocol, port, source)


def test_no_template_filters_nothing() -> None:
    d = fw.decide(None, "in", "198.51.100.7", 25, "TCP")
    assert d.admitted and "no firewall template" in d.reason


def test_inbound_is_an_allow_list_once_assigned() -> None:
    ssh_from_one = [rule("in", "TCP", "22", "203.0.113.5")]
    assert fw.admits(ssh_from_one, "in", "203.0.113.5", 22, "TCP")
    assert not fw.admits(ssh_from_one, "in", "203.0.113.6", 22, "TCP")
    assert not fw.admits(ssh_from_one, "in", "203.0.113.5", 80, "TCP")
    assert not fw.admits(ssh_from_one, "in", "203.0.113.5", 22, "UDP")
    assert not fw.admits([], "in", "203.0.113.5", 22, "TCP")  # empty template: closed


def test_outbound_is_open_until_the_template_has_an_outbound_rule() -> None:
    inbound_only = [rule("in", "TCP", "22", "0.0.0.0")]
    assert fw.admits(inbound_only, "out", "192.0.2.1", 443, "TCP")
    with_out = [*inbound_only, rule("out", "TCP", "443", "192.0.2.0/24")]
    assert fw.admits(with_out, "out", "192.0.2.1", 443, "TCP")
    assert not fw.admits(with_out, "out", "192.0.2.1", 80, "TCP")
    assert not fw.admits(with_out, "out", "198.51.100.1", 443, "TCP")


def test_zero_address_means_anywhere_in_both_families() -> None:
    for source in ("0.0.0.0", "0.0.0.0/0", "::", "::/0"):
        rules = [rule("in", "UDP", "123", source)]
        assert fw.admits(rules, "in", "198.51.100.7", 123, "UDP")
        assert fw.admits(rules, "in", "2001:db8::7", 123, "UDP")


def test_icmp_rules_ignore_ports_and_port_rules_ignore_icmp() -> None:
    rules = [rule("in", "ICMP", "", "0.0.0.0"), rule("in", "TCP", fw.ALL_PORTS, "10.0.0.0/8")]
    assert fw.admits(rules, "in", "198.51.100.7", None, "ICMP")
    assert fw.admits(rules, "in", "10.1.2.3", 65535, "TCP")
    assert not fw.admits(rules, "in", "198.51.100.7", 80, "TCP")


def test_decision_names_the_rule_that_admitted() -> None:
    rules = [rule("in", "TCP", "80", "0.0.0.0"), rule("in", "TCP", "20-30", "0.0.0.0")]
    d = fw.decide(rules, "in", "198.51.100.7", 22, "TCP")
    assert d.admitted and d.rule == 1 and "TCP 20-30 from 0.0.0.0" in d.reason


def test_bad_packets_are_value_errors() -> None:
    with pytest.raises(ValueError):
        fw.decide([], "in", "not-an-ip", 22, "TCP")
    with pytest.raises(ValueError):
        fw.decide([], "in", "192.0.2.1", None, "TCP")
    with pytest.raises(ValueError):
        fw.decide([], "in", "192.0.2.1", 22, "SCTP")


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        # observed (MNOD24 / the docs)
        (
            {"type": "HTTP", "protocol": "TCP", "port": "80", "source": "0.0.0.0"},
            ("HTTP", "TCP", "80", "0.0.0.0"),
        ),
        (
            {"type": "HTTPS", "protocol": "TCP", "port": "443", "source": "0.0.0.0"},
            ("HTTPS", "TCP", "443", "0.0.0.0"),
        ),
        (
            {"type": "Custom", "protocol": "TCP", "port": "22", "source": "220.146.61.235"},
            ("Custom", "TCP", "22", "220.146.61.235"),
        ),
        (
            {"type": "Custom", "protocol": "TCP", "port": "1-65535", "source": "0.0.0.0/0"},
            ("Custom", "TCP", "1-65535", "0.0.0.0/0"),
        ),
        (
            {"type": "All TCP", "protocol": "TCP", "port": "All Ports", "source": "10.0.0.1/32"},
            ("All TCP", "TCP", "All Ports", "10.0.0.1/32"),
        ),
        (
            {"type": "Custom", "protocol": "ICMP", "port": "", "source": "0.0.0.0"},
            ("Custom", "ICMP", "", "0.0.0.0"),
        ),
        # a named type fills in what it implies; a port may come as a number
        ({"type": "SSH", "source": "2001:db8::/64"}, ("SSH", "TCP", "22", "2001:db8::/64")),
        ({"type": "All UDP", "source": "0.0.0.0"}, ("All UDP", "UDP", "All Ports", "0.0.0.0")),
        (
            {"type": "custom", "protocol": "udp", "port": 53, "source": "192.0.2.1"},
            ("Custom", "UDP", "53", "192.0.2.1"),
        ),
    ],
)
def test_accepted_rules_are_stored_as_sent(sent: dict[str, Any], stored: tuple[str, ...]) -> None:
    r = fw.parse_rule(sent, "in")
    assert (r.type, r.protocol, r.port, r.source) == stored


@pytest.mark.parametrize(
    "sent",
    [
        "TCP 22",
        {"type": "Telnet", "protocol": "TCP", "port": "23", "source": "0.0.0.0"},
        {"type": "Custom", "protocol": "SCTP", "port": "22", "source": "0.0.0.0"},
        {"type": "Custom", "port": "22", "source": "0.0.0.0"},
        {"type": "Custom", "protocol": "TCP", "port": "", "source": "0.0.0.0"},
        {"type": "Custom", "protocol": "TCP", "port": "0", "source": "0.0.0.0"},
        {"type": "Custom", "protocol": "TCP", "port": "65536", "source": "0.0.0.0"},
        {"type": "Custom", "protocol": "TCP", "port": "30-20", "source": "0.0.0.0"},
        {"type": "Custom", "protocol": "TCP", "port": "ssh", "source": "0.0.0.0"},
        {"type": "Custom", "protocol": "ICMP", "port": "8", "source": "0.0.0.0"},
        {"type": "Custom", "protocol": "TCP", "port": "22", "source": ""},
        {"type": "Custom", "protocol": "TCP", "port": "22", "source": "example.com"},
        {"type": "Custom", "protocol": "TCP", "port": "22", "source": "10.0.0.300"},
        {"type": "Custom", "protocol": "TCP", "port": "22", "source": ["0.0.0.0"]},
        {"type": "HTTP", "protocol": "UDP", "port": "80", "source": "0.0.0.0"},
        {"type": "HTTP", "protocol": "TCP", "port": "8080", "source": "0.0.0.0"},
    ],
)
def test_bad_rules_are_indigo_400s(sent: Any) -> None:
    with pytest.raises(IndigoError) as err:
        fw.parse_rule(sent, "in", 3)
    assert err.value.status == 400
    assert err.value.code == "A4020"
    assert "inbound[3]" in err.value.message


def test_template_size_is_capped() -> None:
    many = [{"type": "SSH", "source": f"10.0.{i // 250}.{i % 250}"} for i in range(fw.MAX_RULES)]
    assert len(fw.parse_rules(many, None)) == fw.MAX_RULES
    with pytest.raises(IndigoError):
        fw.parse_rules(many, [{"type": "SSH", "source": "0.0.0.0"}])


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["type", "protocol", "port", "source"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-5, 70000),
            st.text(max_size=12),
            st.sampled_from(["TCP", "UDP", "ICMP", "HTTP", "All Ports", "0.0.0.0", "1-2"]),
        ),
    )
)
def test_arbitrary_rules_are_accepted_or_refused_never_crash(raw: dict[str, Any]) -> None:
    try:
        r = fw.parse_rule(raw, "out")
    except IndigoError as err:
        assert err.status == 400
        return
    # Whatever was accepted can be enforced.
    fw.admits([r.enforced()], "out", "192.0.2.1", 1, r.protocol)
    assert r.protocol == "ICMP" or driver.port_range(r.port) is not None
    assert driver.networks(r.source)


def test_port_range_and_networks_for_driver_compilers() -> None:
    assert driver.port_range("22") == (22, 22)
    assert driver.port_range("1000-2000") == (1000, 2000)
    assert driver.port_range("All Ports") == (1, 65535)
    assert driver.port_range("") is None
    with pytest.raises(ValueError):
        driver.port_range("x")
    assert driver.networks("0.0.0.0") == driver.ANYWHERE
    assert [str(n) for n in driver.networks("192.0.2.9/24")] == ["192.0.2.0/24"]
