"""`aiiro host setup`: the network it makes for a region."""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET

from aiiro.host.setup import _field, network_xml


def test_region_network_is_isolated_with_the_host_on_the_gateway() -> None:
    root = ET.fromstring(
        network_xml(
            "aiiro-1",
            "aiirobr1",
            ipaddress.IPv4Network("198.18.0.0/15"),
            ipaddress.IPv4Address("198.18.0.1"),
        )
    )
    assert root.findtext("name") == "aiiro-1"
    assert root.find("bridge").get("name") == "aiirobr1"  # type: ignore[union-attr]
    assert root.find("ip").attrib == {"address": "198.18.0.1", "prefix": "15"}  # type: ignore[union-attr]
    # no <forward>: nothing leaves the bridge; no <dhcp>: aiiro hands out the addresses
    assert root.find("forward") is None and root.find("ip/dhcp") is None
    assert root.find("dns").get("enable") == "no"  # type: ignore[union-attr]


def test_virsh_fields_are_read() -> None:
    text = "Name:           aiiro-1\nActive:         yes\nAutostart:      no\n"
    assert _field(text, "Active") == "yes"
    assert _field(text, "Autostart") == "no"
    assert _field(text, "Bridge") == ""
