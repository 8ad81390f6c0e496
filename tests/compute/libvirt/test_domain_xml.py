"""The domain XML and the guest's kernel command line."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from aiiro.compute.libvirt.domain_xml import DomainConfig, domain_xml, kernel_cmdline

KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 alice@laptop"


def _cfg(**kw: object) -> DomainConfig:
    base: dict[str, object] = dict(
        name="aiiro-5",
        title="web 1",
        instance_id=5,
        domain_type="qemu",
        cpus=2,
        memory_mb=512,
        disk=Path("/s/instances/aiiro-5/disk.qcow2"),
        network="aiiro-1",
        mac="00:13:5D:13:69:8A",
        ipv4="198.18.0.9",
        filter_name="aiiro-instance-5",
        serial_log=Path("/s/instances/aiiro-5/console.log"),
    )
    base.update(kw)
    return DomainConfig(**base)  # type: ignore[arg-type]


def test_disk_image_boots_its_disk_with_the_seed_attached() -> None:
    root = ET.fromstring(domain_xml(_cfg(seed=Path("/s/seed.iso"))))
    assert root.get("type") == "qemu"
    assert root.findtext("vcpu") == "2"
    assert root.find("memory").text == "512"  # type: ignore[union-attr]
    assert root.find("os/boot").get("dev") == "hd"  # type: ignore[union-attr]
    assert root.find("os/kernel") is None
    disks = root.findall("devices/disk")
    assert disks[0].find("source").get("file") == "/s/instances/aiiro-5/disk.qcow2"  # type: ignore[union-attr]
    cd = disks[1]
    assert cd.get("device") == "cdrom" and cd.get("snapshot") == "no"
    assert cd.find("readonly") is not None
    assert root.find("features/acpi") is not None  # a graceful stop presses the button


def test_interface_is_on_the_region_network_with_its_filter() -> None:
    root = ET.fromstring(domain_xml(_cfg()))
    iface = root.find("devices/interface")
    assert iface is not None
    assert iface.find("source").get("network") == "aiiro-1"  # type: ignore[union-attr]
    assert iface.find("mac").get("address") == "00:13:5d:13:69:8a"  # type: ignore[union-attr]
    ref = iface.find("filterref")
    assert ref is not None and ref.get("filter") == "aiiro-instance-5"
    assert ref.find("parameter").attrib == {"name": "IP", "value": "198.18.0.9"}  # type: ignore[union-attr]


def test_serial_console_is_logged() -> None:
    root = ET.fromstring(domain_xml(_cfg()))
    log = root.find("devices/serial/log")
    assert log is not None and log.get("file") == "/s/instances/aiiro-5/console.log"
    assert root.find("devices/console/target").get("type") == "serial"  # type: ignore[union-attr]


def test_kernel_image_boots_directly_with_its_command_line() -> None:
    cmdline = kernel_cmdline("198.18.0.9", 15, "198.18.0.1", "Web 1!", KEY, first_boot=True)
    root = ET.fromstring(
        domain_xml(_cfg(kernel=Path("/i/vmlinuz"), initrd=Path("/i/initrd.img"), cmdline=cmdline))
    )
    assert root.findtext("os/kernel") == "/i/vmlinuz"
    assert root.findtext("os/initrd") == "/i/initrd.img"
    assert root.findtext("os/cmdline") == (
        "console=ttyS0,115200 panic=-1 loglevel=4 no_timer_check "
        "aiiro.ip=198.18.0.9/15 aiiro.gw=198.18.0.1 aiiro.hostname=web-1 aiiro.firstboot=1 "
        "aiiro.sshkey=ssh-rsa,AAAAB3NzaC1yc2EAAAADAQABAAABAQC7"
    )


def test_key_goes_in_at_first_boot_only() -> None:
    steady = kernel_cmdline("198.18.0.9", 15, "198.18.0.1", "web", KEY, first_boot=False)
    assert "aiiro.sshkey" not in steady and "firstboot" not in steady
    assert "aiiro.ip=198.18.0.9/15" in steady


def test_redefinition_keeps_the_uuid_and_kvm_passes_the_cpu() -> None:
    root = ET.fromstring(domain_xml(_cfg(uuid="1b4e28ba-2fa1-11d2-883f-0016d3cca427")))
    assert root.findtext("uuid") == "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    assert root.find("cpu") is None
    kvm = ET.fromstring(domain_xml(_cfg(domain_type="kvm")))
    assert kvm.get("type") == "kvm" and kvm.find("cpu").get("mode") == "host-passthrough"  # type: ignore[union-attr]


def test_an_image_command_line_comes_first_and_cloud_init_images_get_no_key() -> None:
    cmdline = kernel_cmdline(
        "198.18.0.9", 15, "198.18.0.1", "web", None, True, "root=/dev/vda rw net.ifnames=0"
    )
    assert cmdline.startswith("root=/dev/vda rw net.ifnames=0 console=ttyS0,115200 ")
    assert "aiiro.sshkey" not in cmdline
