"""Instance addresses: per-region pools, and the forms Indigo shows them in.

Pools come from the region's "aiiro" block in the catalogue (by default the benchmark
range 198.18.0.0/15 and the documentation prefix 2001:db8:100::/48), never real public
space. A pool's network address, its first host address (the gateway of the region's
network, or the `gateway` / `ipv6_gateway` the catalogue names) and its broadcast (for
IPv6: its last) address are never handed out. Addresses are chosen at random within the
pool (rt.rand, so a seed makes them reproducible); an exhausted pool is "Out of stock".
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aiiro.catalog import Region
from aiiro.runtime import Runtime
from aiiro.store.models import IpAddress

Family = Literal[4, 6]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Pools up to this size are allocated from the set of taken addresses; larger ones by
# random probing (a miss is all but impossible).
DENSE_POOL = 1 << 16
PROBES = 64


class PoolExhausted(Exception):
    pass


def families(ipaddress_type: str) -> tuple[Family, ...]:
    """Which addresses a plan's `ipaddress_type` gets, the primary first."""
    if ipaddress_type == "ipv6":
        return (6,)
    if ipaddress_type == "ipv46dual":
        return (4, 6)
    return (4,)


def usable_range(region: Region, family: Family) -> tuple[int, int, set[int]]:
    """(first, last, excluded) host numbers of the region's pool for `family`."""
    if family == 4:
        net4 = region.ipv4_pool
        first, last = int(net4.network_address) + 2, int(net4.broadcast_address) - 1
        gateway: IPAddress | None = region.ipv4_gateway
    else:
        net6 = region.ipv6_pool
        first, last = int(net6.network_address) + 2, int(net6.broadcast_address) - 1
        gateway = region.ipv6_gateway
    excluded = {int(gateway)} if gateway is not None else set()
    return first, last, excluded


def reserve(rt: Runtime, s: Session, region: Region, family: Family, instance_id: int) -> IPAddress:
    """Reserve a free address of the pool for the instance (PoolExhausted if none)."""
    first, last, excluded = usable_range(region, family)
    size = last - first + 1
    if size <= 0:
        raise PoolExhausted()
    for _ in range(PROBES):
        number = _pick(rt, s, region, family, first, last, excluded)
        address = ipaddress.ip_address(number)
        try:
            with s.begin_nested():
                s.add(
                    IpAddress(
                        region_id=region.id,
                        family=family,
                        address=address.compressed,
                        instance_id=instance_id,
                    )
                )
        except IntegrityError:
            continue  # taken at the same moment by another transaction
        return address
    raise PoolExhausted()


def release(s: Session, instance_id: int) -> None:
    for row in s.scalars(select(IpAddress).where(IpAddress.instance_id == instance_id)):
        s.delete(row)


def of_instance(s: Session, instance_id: int) -> dict[int, IPAddress]:
    """The instance's reserved addresses by family."""
    rows = s.execute(
        select(IpAddress.family, IpAddress.address).where(IpAddress.instance_id == instance_id)
    )
    return {family: ipaddress.ip_address(address) for family, address in rows}


def _pick(
    rt: Runtime,
    s: Session,
    region: Region,
    family: Family,
    first: int,
    last: int,
    excluded: set[int],
) -> int:
    size = last - first + 1
    if size > DENSE_POOL:
        for _ in range(PROBES):
            number = first + rt.rand.randint(0, size - 1)
            if number in excluded:
                continue
            text = ipaddress.ip_address(number).compressed
            if (
                s.scalar(
                    select(IpAddress.id).where(
                        IpAddress.region_id == region.id, IpAddress.address == text
                    )
                )
                is None
            ):
                return number
        raise PoolExhausted()
    taken = {
        int(ipaddress.ip_address(a))
        for a in s.scalars(
            select(IpAddress.address).where(
                IpAddress.region_id == region.id, IpAddress.family == family
            )
        )
    } | excluded
    if sum(1 for n in taken if first <= n <= last) >= size:
        raise PoolExhausted()
    start = rt.rand.randint(0, size - 1)
    for i in range(size):
        number = first + (start + i) % size
        if number not in taken:
            return number
    raise PoolExhausted()


# --- how Indigo shows them ---------------------------------------------------------------


def shown(address: IPAddress) -> str:
    """IPv4 as usual; IPv6 zero-padded and upper-case ("2001:0DB8:0100:...:0001")."""
    if address.version == 6:
        return address.exploded.upper()
    return str(address)


def arpaname(address: IPAddress) -> str:
    """The reverse name: "198-18-0-5.pro.static.arena.ne.jp"; for IPv6 the shown address
    and a name cut short after "arena.ne." (sic, as observed)."""
    if address.version == 6:
        return f"{shown(address)}.pro.static.arena.ne."
    return str(address).replace(".", "-") + ".pro.static.arena.ne.jp"
