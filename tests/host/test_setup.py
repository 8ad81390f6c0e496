"""`aiiro host setup` / `aiiro host check`: what they make and how they report it. The real
thing (packages, daemons, a machine started on the region's network) runs in CI through
scripts/ci-deps-libvirt.sh; these are the parts that need no root and no libvirt."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from aiiro.catalog import load_catalog
from aiiro.config import Settings
from aiiro.host import networks, probe
from aiiro.host.setup import (
    DIRECTORIES,
    Directory,
    Finding,
    _running,
    ensure_directory,
    look_directory,
    look_libvirt,
)


def test_region_network_is_isolated_with_the_host_on_the_gateway() -> None:
    root = ET.fromstring(
        networks.network_xml(
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


def test_each_region_gets_its_network_and_bridge() -> None:
    settings = Settings(libvirt_network="cloud-{region_id}")
    nets = networks.region_networks(settings, load_catalog().regions)
    assert (nets[0].name, nets[0].bridge) == ("cloud-1", "aiirobr1")


def test_virsh_fields_are_read() -> None:
    text = "Name:           aiiro-1\nActive:         yes\nAutostart:      no\n"
    assert networks.field(text, "Active") == "yes"
    assert networks.field(text, "Autostart") == "no"
    assert networks.field(text, "Bridge") == ""


def test_what_a_network_lacks() -> None:
    assert networks.Seen(False, False, False, "").lacking == ["not defined"]
    assert networks.Seen(True, False, True, "aiirobr1").lacking == ["not active"]
    assert networks.Seen(True, True, False, "aiirobr1").lacking == ["no autostart"]
    assert networks.Seen(True, True, True, "aiirobr1").ready


def test_the_directory_libvirt_needs_for_a_network_without_dnsmasq_is_made() -> None:
    # The MAC map of a bridge goes there when a machine joins the network; libvirt itself
    # makes the directory only when it runs a dnsmasq, which aiiro's networks never do.
    paths = [d.path for d in DIRECTORIES]
    assert Path("/var/lib/libvirt/dnsmasq") in paths
    # libvirtd and virtlogd started by hand exit at once without their log directory, so
    # it comes before anything that starts them.
    assert paths[0] == Path("/var/log/libvirt")


def test_a_missing_directory_is_reported_with_its_fix_then_made(tmp_path: Path) -> None:
    wanted = Directory(tmp_path / "lib" / "dnsmasq", 0o711, "the MAC maps")
    seen = look_directory(wanted)
    assert (seen.status, seen.detail) == ("missing", "the MAC maps")
    assert seen.fix == f"mkdir -p {wanted.path} && chmod 711 {wanted.path}"
    made = ensure_directory(wanted)
    assert made.status == "done" and wanted.path.is_dir()
    assert wanted.path.stat().st_mode & 0o777 == 0o711
    assert ensure_directory(wanted) == Finding(f"directory {wanted.path}", "ok", "present")


def test_another_host_that_does_not_answer_is_reported(tmp_path: Path) -> None:
    if shutil.which("virsh") is None:
        pytest.skip("virsh is not installed (scripts/ci-deps-libvirt.sh)")
    uri = f"qemu:///system?socket={tmp_path / 'no-daemon'}"
    seen = look_libvirt(uri, f"host {uri}", "aiiro host setup, on that host")
    assert (seen.name, seen.status, seen.fix) == (
        f"host {uri}",
        "missing",
        "aiiro host setup, on that host",
    )
    assert "no-daemon" in seen.detail  # virsh's own words: which socket it tried


def test_findings_read_as_one_line_each() -> None:
    assert str(Finding("libvirtd", "ok", "running")) == "ok       libvirtd: running"
    assert str(Finding("libvirtd", "missing", "not running", "libvirtd -d")) == (
        "missing  libvirtd: not running; fix: libvirtd -d"
    )


def test_the_throwaway_machine_joins_the_network_as_an_instance_does() -> None:
    root = ET.fromstring(probe.probe_xml("aiiro-host-check-7", "qemu", "aiiro-1"))
    assert root.get("type") == "qemu" and root.findtext("name") == "aiiro-host-check-7"
    iface = root.find("devices/interface")
    assert iface is not None and iface.get("type") == "network"
    assert iface.find("source").get("network") == "aiiro-1"  # type: ignore[union-attr]
    assert iface.find("filterref").get("filter") == "clean-traffic"  # type: ignore[union-attr]
    assert root.find("devices/disk") is None  # nothing to boot, nothing to clean up


def test_a_failed_start_names_the_directory_to_make() -> None:
    # The message libvirt gave on a host without /var/lib/libvirt/dnsmasq.
    message = (
        "Failed to create file '/var/lib/libvirt/dnsmasq/aiirobr1.macs.new': "
        "No such file or directory"
    )
    assert probe.fix_for(message, "aiiro-host-check-7") == "mkdir -p /var/lib/libvirt/dnsmasq"
    assert probe.fix_for("internal error: something else", "aiiro-host-check-7") == (
        "read /var/log/libvirt/qemu/aiiro-host-check-7.log and /var/log/libvirt/libvirtd.log"
    )


def test_a_daemon_that_died_unreaped_is_not_running(tmp_path: Path) -> None:
    # A killed daemon whose parent never reaps it stays in the process table as a zombie;
    # pgrep lists it, and setup would never start the daemon again.
    program = tmp_path / "aiirozombie"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", program)
    child = subprocess.Popen([str(program), "30"])
    try:
        deadline = time.monotonic() + 10
        while not _running("aiirozombie") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _running("aiirozombie")
        child.kill()
        stat = Path(f"/proc/{child.pid}/stat")
        while stat.read_text().split(") ")[1][0] != "Z" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running("aiirozombie")
    finally:
        child.kill()
        child.wait()
