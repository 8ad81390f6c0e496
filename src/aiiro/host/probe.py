"""The proof that a host can run instances: a throwaway machine on a region's network.

Every requirement may look in place and a machine still fail to start (libvirt writes
files nobody listed, a network's bridge is not what libvirt thinks). So setup and check end
by doing what an instance's first boot does, minus the disk: define a transient machine with
an interface on the region's network behind an nwfilter (as every instance has), start it,
see that it runs, and destroy it. It has no disk and boots nothing; QEMU runs its firmware,
which is all the proof needs. Nothing is left behind: a transient machine vanishes when it is
destroyed, and its QEMU log is removed.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

QEMU_LOGS = Path("/var/log/libvirt/qemu")
MEMORY_MB = 32
# A QEMU that dies right after it started (a device it cannot open) is gone within this.
SETTLE_S = 1.0


def probe_xml(name: str, domain_type: str, network: str) -> str:
    """A transient machine with nothing but an interface on `network`, filtered as an
    instance's interface is (clean-traffic: the filter every instance's own filter uses)."""
    dom = ET.Element("domain", type=domain_type)
    ET.SubElement(dom, "name").text = name
    ET.SubElement(dom, "memory", unit="MiB").text = str(MEMORY_MB)
    ET.SubElement(dom, "vcpu").text = "1"
    os_el = ET.SubElement(dom, "os")
    ET.SubElement(os_el, "type", arch="x86_64", machine="pc").text = "hvm"
    devices = ET.SubElement(dom, "devices")
    iface = ET.SubElement(devices, "interface", type="network")
    ET.SubElement(iface, "source", network=network)
    ET.SubElement(iface, "model", type="virtio")
    ET.SubElement(iface, "filterref", filter="clean-traffic")
    ET.SubElement(devices, "memballoon", model="none")
    ET.indent(dom)
    return ET.tostring(dom, encoding="unicode")


def probe_name(prefix: str) -> str:
    """Two setups or checks at once (two checkouts on one host) must not meet."""
    return f"{prefix}host-check-{os.getpid()}"


def run_probe(uri: str, name: str, domain_type: str, network: str) -> str | None:
    """Start and destroy the throwaway machine; None when it ran, else libvirt's message."""
    with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
        f.write(probe_xml(name, domain_type, network))
        f.flush()
        created = _virsh(uri, "create", f.name)
    if created.returncode != 0:
        return _message(created)
    ran = False
    try:
        time.sleep(SETTLE_S)
        state = _virsh(uri, "domstate", name)
        if state.stdout.strip() != "running":
            return f"the machine did not keep running ({state.stdout.strip() or _message(state)})"
        ran = True
        return None
    finally:
        _virsh(uri, "destroy", name)
        if ran:  # else its log says why
            (QEMU_LOGS / f"{name}.log").unlink(missing_ok=True)


def fix_for(message: str, name: str) -> str:
    """The command that cures a failed start, where the message says what is missing."""
    missing = re.search(r"'(/[^']+)': No such file or directory", message)
    if missing:
        return f"mkdir -p {Path(missing.group(1)).parent}"
    return f"read {QEMU_LOGS / (name + '.log')} and /var/log/libvirt/libvirtd.log"


def _virsh(uri: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["virsh", "-c", uri, *args], capture_output=True, text=True)


def _message(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line.removeprefix("error: ") for line in done.stderr.splitlines() if line.strip()]
    # virsh says "Failed to create domain from FILE", then libvirt's own reason.
    return " ".join(lines[1:] or lines) or f"virsh exited {done.returncode}"
