"""The libvirt domain XML of an instance."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

METADATA_NS = "https://aiiro.dev/xmlns/libvirt/instance/1"


@dataclass(frozen=True)
class DomainConfig:
    name: str  # libvirt domain name, e.g. "aiiro-12"
    title: str  # the instance's name, shown by virsh list --title
    instance_id: int
    domain_type: str  # "kvm" or "qemu"
    cpus: int
    memory_mb: int
    disk: Path
    network: str
    mac: str | None
    ipv4: str | None
    filter_name: str
    serial_log: Path
    # Direct kernel boot (image kind "kernel"); otherwise the disk's own boot loader.
    kernel: Path | None = None
    initrd: Path | None = None
    cmdline: str = ""
    # cloud-init NoCloud seed (label cidata), attached as a read-only CD.
    seed: Path | None = None
    # Set when redefining: libvirt refuses a new definition of a name with another uuid.
    uuid: str | None = None


def domain_xml(cfg: DomainConfig) -> str:
    dom = ET.Element("domain", type=cfg.domain_type)
    ET.SubElement(dom, "name").text = cfg.name
    if cfg.uuid:
        ET.SubElement(dom, "uuid").text = cfg.uuid
    ET.SubElement(dom, "title").text = cfg.title
    meta = ET.SubElement(dom, "metadata")
    ET.SubElement(meta, f"{{{METADATA_NS}}}instance", id=str(cfg.instance_id))
    ET.SubElement(dom, "memory", unit="MiB").text = str(cfg.memory_mb)
    ET.SubElement(dom, "vcpu").text = str(cfg.cpus)

    os_el = ET.SubElement(dom, "os")
    ET.SubElement(os_el, "type", arch="x86_64", machine="pc").text = "hvm"
    if cfg.kernel is not None:
        ET.SubElement(os_el, "kernel").text = str(cfg.kernel)
        if cfg.initrd is not None:
            ET.SubElement(os_el, "initrd").text = str(cfg.initrd)
        ET.SubElement(os_el, "cmdline").text = cfg.cmdline
    else:
        ET.SubElement(os_el, "boot", dev="hd")
    features = ET.SubElement(dom, "features")
    # ACPI: the power button a graceful stop presses.
    ET.SubElement(features, "acpi")
    ET.SubElement(features, "apic")
    if cfg.domain_type == "kvm":
        ET.SubElement(dom, "cpu", mode="host-passthrough")
    ET.SubElement(dom, "clock", offset="utc")
    # A guest that powers itself off is off (the first boot ends that way); reboots stay
    # reboots.
    ET.SubElement(dom, "on_poweroff").text = "destroy"
    ET.SubElement(dom, "on_reboot").text = "restart"
    ET.SubElement(dom, "on_crash").text = "destroy"

    dev = ET.SubElement(dom, "devices")
    disk = ET.SubElement(dev, "disk", type="file", device="disk")
    ET.SubElement(disk, "driver", name="qemu", type="qcow2")
    ET.SubElement(disk, "source", file=str(cfg.disk))
    ET.SubElement(disk, "target", dev="vda", bus="virtio")
    if cfg.seed is not None:
        # snapshot='no': the read-only seed is not part of a snapshot.
        cd = ET.SubElement(dev, "disk", type="file", device="cdrom", snapshot="no")
        ET.SubElement(cd, "driver", name="qemu", type="raw")
        ET.SubElement(cd, "source", file=str(cfg.seed))
        ET.SubElement(cd, "target", dev="sda", bus="sata")
        ET.SubElement(cd, "readonly")

    iface = ET.SubElement(dev, "interface", type="network")
    ET.SubElement(iface, "source", network=cfg.network)
    if cfg.mac:
        ET.SubElement(iface, "mac", address=cfg.mac.lower())
    ET.SubElement(iface, "model", type="virtio")
    # The instance's own filter: anti-spoofing always, the firewall template when one is
    # assigned (nwfilter.py). Redefining the filter changes it live.
    ref = ET.SubElement(iface, "filterref", filter=cfg.filter_name)
    if cfg.ipv4:
        ET.SubElement(ref, "parameter", name="IP", value=cfg.ipv4)

    serial = ET.SubElement(dev, "serial", type="pty")
    ET.SubElement(serial, "log", file=str(cfg.serial_log), append="on")
    ET.SubElement(serial, "target", port="0")
    console = ET.SubElement(dev, "console", type="pty")
    ET.SubElement(console, "target", type="serial", port="0")
    # Entropy: an SSH server that generates its host key at first boot waits for it.
    rng = ET.SubElement(dev, "rng", model="virtio")
    ET.SubElement(rng, "backend", model="random").text = "/dev/urandom"
    ET.SubElement(dev, "memballoon", model="none")
    ET.indent(dom)
    return ET.tostring(dom, encoding="unicode")


def kernel_cmdline(
    ipv4: str | None,
    prefixlen: int,
    gateway: str | None,
    hostname: str,
    ssh_key: str | None,
    first_boot: bool,
    image_cmdline: str = "",
) -> str:
    """The command line the tiny image reads its settings from (images/tiny.py).

    The key goes in only for the first boot, as cloud-init installs it only once; its
    spaces become commas (a key's type and body have none) and its comment is dropped."""
    # no_timer_check: under software emulation on a busy host the kernel's IO-APIC timer
    # check can fail and the boot hang ("MP-BIOS bug: 8254 timer not connected").
    parts = [*image_cmdline.split(), "console=ttyS0,115200", "panic=-1", "loglevel=4"]
    parts.append("no_timer_check")
    if ipv4:
        parts.append(f"aiiro.ip={ipv4}/{prefixlen}")
    if gateway:
        parts.append(f"aiiro.gw={gateway}")
    parts.append(f"aiiro.hostname={_hostname(hostname)}")
    if first_boot:
        parts.append("aiiro.firstboot=1")
        if ssh_key:
            fields = ssh_key.split()
            if len(fields) >= 2:
                parts.append(f"aiiro.sshkey={fields[0]},{fields[1]}")
    return " ".join(parts)


def _hostname(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "-" else "-" for c in name.lower()).strip("-")
    return cleaned[:63] or "instance"
