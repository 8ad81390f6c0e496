"""`aiiro host setup`: make this machine a compute host for the libvirt driver.

Each step looks first and acts only where something is missing, then says which it was,
so running it twice changes nothing. It works on machines without systemd (containers,
CI): the daemons are then started by hand.

1. Debian packages: QEMU, libvirt, the tools the driver and the image builder use.
2. Daemons: virtlogd and libvirtd (systemctl where systemd runs, else `-d` by hand).
3. Storage: <storage>/images and <storage>/instances, searchable by QEMU's user.
4. Networks: one isolated libvirt network per region, carrying the region's IPv4 pool
   with the host on its first address (the gateway aiiro never hands out).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiiro.compute.libvirt.hosts import region_gateway
from aiiro.config import Settings
from aiiro.domain.catalog import Catalog, load_catalog

PACKAGES = [
    "qemu-system-x86",
    "qemu-utils",
    "libvirt-daemon-system",
    "libvirt-clients",
    "libvirt-daemon-driver-qemu",
    "dnsmasq-base",
    "iptables",
    "nftables",
    "genisoimage",
    "e2fsprogs",
    # the tiny image: kernel unpacking, initramfs, guest userland
    "busybox-static",
    "dropbear-bin",
    "cpio",
    "kmod",
]
DAEMONS = ["virtlogd", "libvirtd"]
CONNECT_TIMEOUT_S = 60.0

Say = Callable[[str], None]


@dataclass
class Step:
    name: str
    changed: bool
    detail: str


def setup(
    settings: Settings,
    install: bool = True,
    networks: bool = True,
    say: Say = print,
) -> list[Step]:
    steps: list[Step] = []

    def record(step: Step) -> None:
        steps.append(step)
        say(f"{'done' if step.changed else 'ok  '}  {step.name}: {step.detail}")

    record(ensure_packages(install))
    for daemon in DAEMONS:
        record(ensure_daemon(daemon))
    uri = _local_uri(settings)
    record(wait_for_libvirt(uri))
    record(ensure_storage(Path(settings.libvirt_storage_dir)))
    if networks:
        for step in ensure_networks(uri, settings, load_catalog(settings.catalog_file)):
            record(step)
    return steps


def ensure_packages(install: bool) -> Step:
    missing = [p for p in PACKAGES if not _installed(p)]
    if not missing:
        return Step("packages", False, "all installed")
    if not install:
        return Step("packages", False, f"missing (not installing): {' '.join(missing)}")
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"no apt-get: install {' '.join(missing)} by hand")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, capture_output=True
    )
    return Step("packages", True, f"installed {' '.join(missing)}")


def ensure_daemon(name: str) -> Step:
    if _running(name):
        return Step(name, False, "running")
    if Path("/run/systemd/system").is_dir() and shutil.which("systemctl"):
        subprocess.run(["systemctl", "enable", "--now", name], check=True, capture_output=True)
        return Step(name, True, "started with systemctl")
    # No systemd: daemonise by hand (`libvirtd -d -l` fails on such machines; -d works).
    subprocess.run([name, "-d"], check=True)
    for _ in range(50):
        if _running(name):
            return Step(name, True, f"started by hand ({name} -d)")
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not start")


def wait_for_libvirt(uri: str) -> Step:
    """The first connection after a start takes seconds (libvirtd probes QEMU)."""
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        done = subprocess.run(["virsh", "-c", uri, "version"], capture_output=True, text=True)
        if done.returncode == 0:
            return Step("libvirt", False, f"{uri} answers")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{uri} does not answer: {done.stderr.strip()}")
        time.sleep(1)


def ensure_storage(root: Path) -> Step:
    made = []
    for path in (root, root / "images", root / "instances"):
        if not path.is_dir():
            path.mkdir(parents=True)
            made.append(str(path))
        # QEMU runs as its own user and must reach the disks below.
        path.chmod(0o755)
    if made:
        return Step("storage", True, f"created {', '.join(made)}")
    return Step("storage", False, f"{root} ready")


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


def ensure_networks(uri: str, settings: Settings, catalog: Catalog) -> list[Step]:
    steps = []
    for region in catalog.regions:
        name = settings.libvirt_network.format(region_id=region.id)
        bridge = f"aiirobr{region.id}"[:15]
        info = subprocess.run(
            ["virsh", "-c", uri, "net-info", name], capture_output=True, text=True
        )
        changed = []
        if info.returncode != 0:
            with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
                f.write(network_xml(name, bridge, region.ipv4_pool, region_gateway(region)))
                f.flush()
                _virsh(uri, "net-define", f.name)
            changed.append("defined")
            info = subprocess.run(
                ["virsh", "-c", uri, "net-info", name], capture_output=True, text=True
            )
        if _field(info.stdout, "Active") != "yes":
            _virsh(uri, "net-start", name)
            changed.append("started")
        if _field(info.stdout, "Autostart") != "yes":
            _virsh(uri, "net-autostart", name)
            changed.append("autostart on")
        detail = f"{region.name}: {region.ipv4_pool} on bridge {_bridge(uri, name)}"
        steps.append(
            Step(f"network {name}", bool(changed), f"{detail} ({', '.join(changed) or 'ready'})")
        )
    return steps


def _local_uri(settings: Settings) -> str:
    for uri in settings.libvirt_uris.replace(",", " ").split():
        if uri.startswith("qemu:///"):
            return uri
    return "qemu:///system"


def _virsh(uri: str, *args: str) -> None:
    done = subprocess.run(["virsh", "-c", uri, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"virsh {' '.join(args)}: {done.stderr.strip()}")


def _field(text: str, name: str) -> str:
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return ""


def _bridge(uri: str, name: str) -> str:
    info = subprocess.run(["virsh", "-c", uri, "net-info", name], capture_output=True, text=True)
    return _field(info.stdout, "Bridge") or "?"


def _installed(package: str) -> bool:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
    )
    return done.returncode == 0 and "install ok installed" in done.stdout


def _running(name: str) -> bool:
    done = subprocess.run(["pgrep", "-x", name], capture_output=True)
    return done.returncode == 0
