"""The region networks of a compute host: one isolated libvirt network per region, carrying
the region's IPv4 pool with the host on its gateway address (aiiro never hands it out)."""

from __future__ import annotations

import ipaddress
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from aiiro.catalog import Region
from aiiro.compute.libvirt.hosts import region_gateway
from aiiro.config import Settings

SYS_NET = Path("/sys/class/net")


@dataclass(frozen=True)
class RegionNetwork:
    region: Region
    name: str  # the libvirt network
    bridge: str

    @property
    def xml(self) -> str:
        return network_xml(
            self.name, self.bridge, self.region.ipv4_pool, region_gateway(self.region)
        )


@dataclass(frozen=True)
class Seen:
    """What libvirt says of a network (all False when it is not defined)."""

    defined: bool
    active: bool
    autostart: bool
    bridge: str

    @property
    def ready(self) -> bool:
        return self.defined and self.active and self.autostart

    @property
    def lacking(self) -> list[str]:
        if not self.defined:
            return ["not defined"]
        return [w for w, ok in (("not active", self.active), ("no autostart", self.autostart))
                if not ok]  # fmt: skip


def region_networks(settings: Settings, regions: list[Region]) -> list[RegionNetwork]:
    return [
        RegionNetwork(
            region,
            settings.libvirt_network.format(region_id=region.id),
            f"aiirobr{region.id}"[:15],  # interface names are at most 15 characters
        )
        for region in regions
    ]


def network_xml(
    name: str, bridge: str, pool: ipaddress.IPv4Network, gateway: ipaddress.IPv4Address
) -> str:
    """An isolated network (no forwarding, no NAT, no DHCP, no DNS): guests get their addresses
    from aiiro (kernel command line or cloud-init); the host is the region's gateway."""
    net = ET.Element("network")
    ET.SubElement(net, "name").text = name
    ET.SubElement(net, "bridge", name=bridge, stp="off", delay="0")
    # No DNS either: without it libvirt runs no dnsmasq for this network.
    ET.SubElement(net, "dns", enable="no")
    ET.SubElement(net, "ip", address=str(gateway), prefix=str(pool.prefixlen))
    ET.indent(net)
    return ET.tostring(net, encoding="unicode")


def look(uri: str, name: str) -> Seen:
    info = _virsh(uri, "net-info", name)
    if info.returncode != 0:
        return Seen(False, False, False, "")
    return Seen(
        True,
        field(info.stdout, "Active") == "yes",
        field(info.stdout, "Autostart") == "yes",
        field(info.stdout, "Bridge"),
    )


def ensure(uri: str, net: RegionNetwork) -> list[str]:
    """Define, start and autostart the network where it is not; what was done."""
    done: list[str] = []
    seen = look(uri, net.name)
    if not seen.defined:
        with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
            f.write(net.xml)
            f.flush()
            _check(_virsh(uri, "net-define", f.name), "net-define", net.name)
        done.append("defined")
    if not seen.active:
        started = _virsh(uri, "net-start", net.name)
        if started.returncode != 0 and _stale_bridge(net.bridge, started.stderr):
            # A bridge left behind by a libvirtd whose runtime state (/run/libvirt) is
            # gone: libvirt refuses to start the network over it. Nothing uses it.
            subprocess.run(["ip", "link", "delete", net.bridge], check=True)
            done.append(f"removed the stale bridge {net.bridge}")
            started = _virsh(uri, "net-start", net.name)
        _check(started, "net-start", net.name)
        done.append("started")
    if not seen.autostart:
        _check(_virsh(uri, "net-autostart", net.name), "net-autostart", net.name)
        done.append("autostart on")
    return done


def field(text: str, name: str) -> str:
    """A field of virsh's `Name:   value` output."""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return ""


def _stale_bridge(bridge: str, stderr: str) -> bool:
    ports = SYS_NET / bridge / "brif"
    return f"in use by interface {bridge}" in stderr and ports.is_dir() and not any(ports.iterdir())


def _virsh(uri: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["virsh", "-c", uri, *args], capture_output=True, text=True)


def _check(done: subprocess.CompletedProcess[str], action: str, name: str) -> None:
    if done.returncode != 0:
        raise RuntimeError(f"virsh {action} {name}: {done.stderr.strip()}")
