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


def ref_ports(port: str) -> range | None:
    """The ports a rule covers; None means "not a port rule" (ICMP)."""
    if port == "":
        return None
    if port.lower() == "all ports":
        return range(1, 65536)
    m = re.fullmatch(r"([0-9]+)(?:-([0-9]+))?", port)
    assert m, port
    lo = int(m.group(1))
    hi = int(m.group(2) or lo)
    return range(lo, hi + 1)


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
# A small pool (packets often hit rules), the whole range, and its edges.
ports = st.one_of(
    st.integers(1, 40), st.integers(1, 65535), st.sampled_from([1, 2, 1023, 1024, 65534, 65535])
)


@st.composite
def port_texts(draw: Any) -> str:
    kind = draw(st.sampled_from(["one", "range", "all"]))
    if kind == "all":
        return "All Ports"
    lo = draw(ports)
    if kind == "one":
        return str(lo)
    hi = draw(st.one_of(st.integers(lo, max(lo, 45)), st.integers(lo, 65535), st.just(65535)))
    return f"{lo}-{hi}"


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


def test_template_size_is_capped_at_100_rules() -> None:
    many = [{"type": "SSH", "source": f"10.0.{i // 250}.{i % 250}"} for i in range(100)]
    assert len(fw.parse_rules(many, None)) == 100
    assert len(fw.parse_rules(many[:60], many[60:])) == 100  # both directions together
    for inbound, outbound in ((many + many[:1], None), (many[:50], many[:51])):
        with pytest.raises(IndigoError) as err:
            fw.parse_rules(inbound, outbound)
        assert (err.value.status, err.value.code, err.value.message) == (
            400,
            "A4020",
            "A template holds at most 100 rules.",
        )


# Shapes that crash hand-written parsers: what is accepted and how it is enforced, or the
# refusal (always 400 A4020 with the same words).
PORT_REFUSED = 'port must be a number 1-65535, a range "a-b" or "All Ports"'


@pytest.mark.parametrize(
    ("port", "stored", "span"),
    [
        ("1", "1", (1, 1)),
        ("65535", "65535", (65535, 65535)),
        ("1-65535", "1-65535", (1, 65535)),
        ("65535-65535", "65535-65535", (65535, 65535)),
        ("22-22", "22-22", (22, 22)),
        (" 22", "22", (22, 22)),
        ("22 ", "22", (22, 22)),
        ("\t22", "22", (22, 22)),
        ("00022", "00022", (22, 22)),
        ("1 - 2", "1 - 2", (1, 2)),
        ("all ports", "all ports", (1, 65535)),
        ("ALL PORTS", "ALL PORTS", (1, 65535)),
        (10000, "10000", (10000, 10000)),
        ("x-22", None, None),
        ("22-x", None, None),
        ("22-", None, None),
        ("-22", None, None),
        ("-", None, None),
        (" - ", None, None),
        ("1--2", None, None),
        ("1-2-3", None, None),
        ("0", None, None),
        ("0-22", None, None),
        ("65536", None, None),
        ("1-65536", None, None),
        ("30-20", None, None),
        ("٢٢", None, None),  # Arabic-Indic digits
        ("２２", None, None),  # fullwidth digits
        ("٢-٣", None, None),
        ("²", None, None),
        ("+22", None, None),
        ("22.0", None, None),
        ("1e3", None, None),
        ("0x16", None, None),
        ("9" * 30, None, None),
        ("1-" + "9" * 30, None, None),
        (-22, None, None),
        (70000, None, None),
        (2**70, None, None),
        ("All  Ports", None, None),
        ("22,23", None, None),
    ],
)
def test_port_shapes(port: Any, stored: str | None, span: tuple[int, int] | None) -> None:
    sent = {"type": "Custom", "protocol": "TCP", "port": port, "source": "0.0.0.0"}
    if stored is None:
        with pytest.raises(IndigoError) as err:
            fw.parse_rule(sent, "out", 7)
        assert (err.value.status, err.value.code, err.value.message) == (
            400,
            "A4020",
            f"Invalid firewall rule outbound[7]: {PORT_REFUSED}.",
        )
        return
    r = fw.parse_rule(sent, "out", 7)
    assert r.port == stored
    assert driver.port_range(r.port) == span


# Digits of several scripts, signs, spaces, up to 25 digits on each side of a dash.
PORTISH = r"\s*-?[0-9\uff10-\uff19\u0660-\u0669]{0,25}\s*-?\s*[0-9]{0,25}\s*"


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(max_size=14),
        st.from_regex(PORTISH, fullmatch=True),
        st.builds(lambda a, b: f"{a}-{b}", st.integers(-5, 70000), st.integers(-5, 70000)),
    )
)
def test_port_range_gives_a_range_within_1_65535_or_refuses(text: str) -> None:
    try:
        span = driver.port_range(text)
    except ValueError:
        assert driver.port_range(text, strict=False) is None
        return
    if span is not None:
        lo, hi = span
        assert 1 <= lo <= hi <= 65535
    else:
        assert text.strip() == ""


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 65535), st.integers(1, 65535))
def test_every_port_of_the_range_is_admitted_by_its_rule(lo: int, port: int) -> None:
    rules = [rule("in", "TCP", f"{lo}-65535", "0.0.0.0")]
    assert fw.admits(rules, "in", "198.51.100.1", port, "TCP") == (port >= lo)
    assert fw.admits([rule("in", "UDP", str(port), "0.0.0.0")], "in", "::1", port, "UDP")


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["type", "protocol", "port", "source"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-5, 70000),
            st.integers(),
            st.text(max_size=12),
            st.from_regex(r"[0-9x\- ]{0,8}", fullmatch=True),
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


def test_the_named_types_fix_protocol_and_port() -> None:
    assert fw.TYPES == {
        "Custom": None,
        "HTTP": ("TCP", "80"),
        "HTTPS": ("TCP", "443"),
        "SSH": ("TCP", "22"),
        "RDP": ("TCP", "3389"),
        "All TCP": ("TCP", "All Ports"),
        "All UDP": ("UDP", "All Ports"),
        "ICMP": ("ICMP", ""),
    }


def test_a_field_holds_at_most_64_characters() -> None:
    sent = {"type": "Custom", "protocol": "TCP", "port": "22", "source": " " * 70 + "10.0.0.1"}
    assert fw.parse_rule(sent, "in").source == "10.0.0.1"  # trimmed first
    for field, value in (("source", "1" * 64 + "0"), ("type", "x" * 65)):
        with pytest.raises(IndigoError) as err:
            fw.parse_rule({**sent, field: value}, "in", 0)
        assert err.value.message == f"Invalid firewall rule inbound[0]: {field} is too long."
    ok = {**sent, "source": "2001:0db8:0000:0000:0000:0000:0000:0001/128"}  # 44 characters
    assert fw.parse_rule(ok, "in").source == "2001:0db8:0000:0000:0000:0000:0000:0001/128"


ANY = "0.0.0.0"


@pytest.mark.parametrize(
    ("sent", "why"),
    [
        ("TCP 22", "a rule is an object with type, protocol, port and source"),
        (
            {"type": "Telnet", "protocol": "TCP", "port": "23", "source": ANY},
            "type must be one of Custom, HTTP, HTTPS, SSH, RDP, All TCP, All UDP, ICMP",
        ),
        (
            {"type": "Custom", "protocol": "SCTP", "port": "22", "source": ANY},
            "protocol must be TCP, UDP or ICMP",
        ),
        ({"type": "Custom", "port": "22", "source": ANY}, "protocol is required"),
        (
            {"type": "Custom", "protocol": "TCP", "port": "", "source": ANY},
            'port is required: a number, a range "a-b" or "All Ports"',
        ),
        (
            {"type": "Custom", "protocol": "ICMP", "port": "8", "source": ANY},
            'an ICMP rule has no port (send "")',
        ),
        (
            {"type": "Custom", "protocol": "TCP", "port": "22", "source": ""},
            "source is required (an address, a CIDR, or 0.0.0.0 for anywhere)",
        ),
        (
            {"type": "Custom", "protocol": "TCP", "port": "22", "source": "example.com"},
            "source must be an IPv4/IPv6 address or CIDR, or 0.0.0.0 for anywhere",
        ),
        (
            {"type": "Custom", "protocol": "TCP", "port": "22", "source": [ANY]},
            "source must be a string",
        ),
        ({"type": True, "protocol": "TCP", "port": "22", "source": ANY}, "type must be a string"),
        (
            {"type": "Custom", "protocol": 5, "port": "22", "source": ANY},
            "protocol must be a string",
        ),
        (
            {"type": "Custom", "protocol": "TCP", "port": 2.5, "source": ANY},
            "port must be a string",
        ),
        (
            {"type": "HTTP", "protocol": "UDP", "port": "80", "source": ANY},
            "type HTTP is protocol TCP",
        ),
        (
            {"type": "HTTP", "protocol": "TCP", "port": "8080", "source": ANY},
            "type HTTP is port 80",
        ),
        ({"type": "ICMP", "port": "22", "source": ANY}, "type ICMP is port none"),
    ],
)
def test_each_refusal_says_why(sent: Any, why: str) -> None:
    with pytest.raises(IndigoError) as err:
        fw.parse_rule(sent, "in", 3)
    assert (err.value.status, err.value.code, err.value.message) == (
        400,
        "A4020",
        f"Invalid firewall rule inbound[3]: {why}.",
    )


def test_a_refusal_names_the_rule_by_direction_and_place() -> None:
    good = {"type": "SSH", "source": ANY}
    bad = {"type": "SSH", "source": "nowhere"}
    for inbound, outbound, where in (
        ([good, good, bad], None, "inbound[2]"),
        ([good], [good, bad], "outbound[1]"),
    ):
        with pytest.raises(IndigoError) as err:
            fw.parse_rules(inbound, outbound)
        assert err.value.message.startswith(f"Invalid firewall rule {where}: source must be")


def test_a_field_of_64_characters_is_taken_65_is_too_long() -> None:
    port64 = "1" + " " * 61 + "-2"
    assert len(port64) == 64
    rule64 = fw.parse_rule(
        {"type": "Custom", "protocol": "UDP", "port": port64, "source": ANY}, "in"
    )
    assert driver.port_range(rule64.port) == (1, 2)
    with pytest.raises(IndigoError) as err:
        fw.parse_rule(
            {"type": "Custom", "protocol": "UDP", "port": "1" + " " * 62 + "-2", "source": ANY},
            "in",
        )
    assert err.value.message == "Invalid firewall rule inbound[0]: port is too long."


def test_networks_names_what_it_could_not_read() -> None:
    with pytest.raises(ValueError) as err:
        driver.networks("nowhere")
    assert str(err.value) == "invalid source 'nowhere'"
    with pytest.raises(ValueError) as err:
        driver.port_range("x-22")
    assert str(err.value) == "invalid port 'x-22'"


def test_a_rule_without_a_type_is_custom() -> None:
    for sent in ({"type": "", "protocol": "TCP", "port": "22", "source": ANY},
                 {"protocol": "TCP", "port": "22", "source": ANY}):  # fmt: skip
        assert fw.parse_rule(sent, "in").type == "Custom"


def test_a_named_type_with_an_unreadable_port_is_a_400() -> None:
    with pytest.raises(IndigoError) as err:
        fw.parse_rule({"type": "HTTP", "port": "x-80", "source": ANY}, "in")
    assert err.value.message == "Invalid firewall rule inbound[0]: type HTTP is port 80."


def test_every_decision_says_why() -> None:
    ssh_in = rule("in", "TCP", "22", "10.0.0.0/8")
    assert fw.decide(None, "in", "10.0.0.1", 22, "TCP") == fw.Decision(
        True, "no firewall template is assigned: nothing is filtered"
    )
    assert fw.decide([ssh_in], "out", "10.0.0.1", 22, "TCP") == fw.Decision(
        True, "the template has no outbound rules: all outbound is allowed"
    )
    assert fw.decide([ssh_in], "in", "10.0.0.1", 22, "TCP") == fw.Decision(
        True, "admitted by inbound rule TCP 22 from 10.0.0.0/8", 0
    )
    assert fw.decide([ssh_in], "in", "192.0.2.1", 22, "TCP") == fw.Decision(
        False, "no inbound rule of the template admits it"
    )
    ping_out = rule("out", "ICMP", "", "0.0.0.0")
    assert fw.decide([ssh_in, ping_out], "out", "192.0.2.1", None, "ICMP") == fw.Decision(
        True, "admitted by outbound rule ICMP to 0.0.0.0", 1
    )
    assert fw.decide([ping_out], "out", "192.0.2.1", 22, "TCP") == fw.Decision(
        False, "no outbound rule of the template admits it"
    )


@pytest.mark.parametrize(
    ("protocol", "port", "message"),
    [
        ("SCTP", 22, "invalid protocol 'SCTP'"),
        ("TCP", 0, "a TCP or UDP packet needs a port 1-65535"),
        ("UDP", 65536, "a TCP or UDP packet needs a port 1-65535"),
        ("TCP", None, "a TCP or UDP packet needs a port 1-65535"),
    ],
)
def test_a_packet_that_cannot_be_is_a_value_error(
    protocol: str, port: int | None, message: str
) -> None:
    with pytest.raises(ValueError) as err:
        fw.decide(None, "in", "10.0.0.1", port, protocol)
    assert str(err.value) == message
    assert fw.decide(None, "in", "10.0.0.1", 65535, "UDP").admitted


@pytest.mark.parametrize("port", ["", "x", "0", "30-20"])
def test_a_port_rule_whose_port_does_not_read_admits_nothing(port: str) -> None:
    """Rules handed to `decide` directly (a driver's own, a row written before validation
    was tightened) may carry a port `parse_rule` would refuse: such a rule is closed, not
    an error, and the rules after it still count."""
    rules = [rule("in", "TCP", port, "0.0.0.0"), rule("in", "TCP", "22", "10.0.0.0/8")]
    assert fw.decide(rules, "in", "192.0.2.1", 22, "TCP") == fw.Decision(
        False, "no inbound rule of the template admits it"
    )
    assert fw.decide(rules, "in", "10.0.0.1", 22, "TCP") == fw.Decision(
        True, "admitted by inbound rule TCP 22 from 10.0.0.0/8", 1
    )
