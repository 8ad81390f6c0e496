"""Address pools: in range, never the network, gateway or broadcast address; Indigo's
forms of IPv4 and IPv6 addresses."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiiro.catalog import Catalog, load_catalog
from aiiro.domain import addresses
from aiiro.runtime import Runtime


def test_forms_as_observed() -> None:
    v6 = ipaddress.ip_address("2001:2c0:100:417:18:cafe:8d:1")
    assert addresses.shown(v6) == "2001:02C0:0100:0417:0018:CAFE:008D:0001"
    assert addresses.arpaname(v6) == "2001:02C0:0100:0417:0018:CAFE:008D:0001.pro.static.arena.ne."
    v4 = ipaddress.ip_address("164.70.124.240")
    assert addresses.shown(v4) == "164.70.124.240"
    assert addresses.arpaname(v4) == "164-70-124-240.pro.static.arena.ne.jp"


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_ipv6_form_reads_back(number: int) -> None:
    address = ipaddress.IPv6Address(number)
    text = addresses.shown(address)
    assert len(text) == 39 and text == text.upper()
    assert ipaddress.ip_address(text) == address


def test_families_by_plan_type() -> None:
    assert addresses.families("ipv4") == (4,)
    assert addresses.families("ipv6") == (6,)
    assert addresses.families("ipv46dual") == (4, 6)


def test_default_pools_are_documentation_and_benchmark_space() -> None:
    region = load_catalog().regions[0]
    assert region.ipv4_pool == ipaddress.ip_network("198.18.0.0/15")
    assert region.ipv6_pool == ipaddress.ip_network("2001:db8:100::/48")
    assert region.ipv4_gateway is None  # the first host address then


@pytest.mark.parametrize("family", [4, 6])
def test_small_pool_hands_out_every_usable_address_once(rt: Runtime, family: int) -> None:
    pool = "198.18.0.0/29" if family == 4 else "2001:db8:100::/125"
    region = dataclasses.replace(
        rt.catalog.regions[0],
        ipv4_pool=ipaddress.IPv4Network("198.18.0.0/29"),
        ipv6_pool=ipaddress.IPv6Network("2001:db8:100::/125"),
    )
    net = ipaddress.ip_network(pool)
    given_out = []
    with rt.db.write() as s:
        for n in range(5):
            given_out.append(addresses.reserve(rt, s, region, family, 1000 + n))  # type: ignore[arg-type]
        with pytest.raises(addresses.PoolExhausted):
            addresses.reserve(rt, s, region, family, 2000)  # type: ignore[arg-type]
    hosts = list(net)
    assert sorted(given_out) == hosts[2:-1]  # not network, first host, last/broadcast
    with rt.db.write() as s:
        addresses.release(s, 1002)
    with rt.db.write() as s:
        again = addresses.reserve(rt, s, region, family, 3000)  # type: ignore[arg-type]
    assert again == given_out[2]


def test_a_named_gateway_is_never_handed_out(rt: Runtime, tmp_path: Path) -> None:
    data = json.loads((Path(__file__).parents[2] / "src/aiiro/data/catalog.json").read_text())
    data["regions"][0]["aiiro"].update(
        {"ipv4_pool": "198.18.0.0/29", "gateway": "198.18.0.4", "ipv6_gateway": "2001:db8:100::9"}
    )
    region = Catalog(data).regions[0]
    assert region.ipv4_gateway == ipaddress.ip_address("198.18.0.4")
    assert region.ipv6_gateway == ipaddress.ip_address("2001:db8:100::9")
    with rt.db.write() as s:
        got = [addresses.reserve(rt, s, region, 4, 10 + n) for n in range(4)]
        with pytest.raises(addresses.PoolExhausted):
            addresses.reserve(rt, s, region, 4, 99)
    assert sorted(str(a) for a in got) == ["198.18.0.2", "198.18.0.3", "198.18.0.5", "198.18.0.6"]


def test_large_pool_addresses_are_in_range(rt: Runtime) -> None:
    region = rt.catalog.regions[0]
    with rt.db.write() as s:
        v4 = [addresses.reserve(rt, s, region, 4, n) for n in range(50)]
        v6 = [addresses.reserve(rt, s, region, 6, n) for n in range(50)]
    assert len(set(v4)) == 50 and len(set(v6)) == 50
    for a in v4:
        assert a in region.ipv4_pool
        assert a not in (region.ipv4_pool.network_address, region.ipv4_pool.broadcast_address)
        assert a != region.ipv4_pool.network_address + 1
    for b in v6:
        assert b in region.ipv6_pool and b != region.ipv6_pool.network_address + 1
