"""The libvirt driver against libvirt's test driver (`test:///default`): domains are
defined, started, snapshotted and removed in memory; disks are real qcow2 files."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aiiro.compute.driver import FirewallRule, SnapshotSpec
from aiiro.compute.libvirt import LibvirtDriver, download
from aiiro.compute.libvirt.hosts import Hosts
from aiiro.images.store import Image

from .conftest import TEST_URI, make_qcow2

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")


def _xml(driver: LibvirtDriver, spec: Any) -> str:
    return str(driver.hosts.conn(TEST_URI).lookupByName(spec.state["domain"]).XMLDesc(0))


def _guest_powers_off(driver: LibvirtDriver, spec: Any) -> None:
    """What the tiny image does at the end of its first boot."""
    driver.hosts.conn(TEST_URI).lookupByName(spec.state["domain"]).destroy()


def _installed(driver: LibvirtDriver, spec: Any) -> None:
    driver.provision(spec)
    _guest_powers_off(driver, spec)
    assert driver.observe(spec).power == "shutoff"


def test_provision_is_a_first_boot_that_ends_stopped(
    driver: LibvirtDriver, tiny: Image, make_spec: Any
) -> None:
    spec = make_spec()
    driver.provision(spec)
    assert spec.state["phase"] == "installing"
    assert spec.state["host"] == TEST_URI
    disk = Path(spec.state["dir"]) / "disk.qcow2"
    info = json.loads(
        subprocess.run(
            ["qemu-img", "info", "--output=json", str(disk)], capture_output=True, text=True
        ).stdout
    )
    assert info["backing-filename"] == str(tiny.disk)
    assert info["virtual-size"] == 20 * 1024**3  # the plan's disk
    xml = _xml(driver, spec)
    assert "aiiro.firstboot=1" in xml
    assert "aiiro.sshkey=ssh-rsa,AAAAB3NzaC1yc2EAAAADAQABAAABAQC7" in xml
    assert "user@host" not in xml  # the comment is not passed on
    assert "aiiro.ip=198.18.0.10/15 aiiro.gw=198.18.0.1" in xml  # the region's pool
    assert "<memory unit='KiB'>262144</memory>" in xml  # 1 GB x 0.25

    # While the guest runs its first boot the instance is still being installed.
    assert driver.observe(spec).power == "provisioning"
    _guest_powers_off(driver, spec)
    assert driver.observe(spec).power == "shutoff"
    assert spec.state["phase"] == "ready"
    steady = _xml(driver, spec)
    assert "aiiro.firstboot" not in steady and "aiiro.sshkey" not in steady


def test_provision_is_idempotent(driver: LibvirtDriver, tiny: Image, make_spec: Any) -> None:
    spec = make_spec()
    driver.provision(spec)
    first = dict(spec.state)
    driver.provision(spec)
    assert spec.state == first
    # A crash after the domain was made but before the state was stored: a fresh record.
    spec.state = {}
    driver.provision(spec)
    assert spec.state["phase"] == "installing"


def test_first_boot_that_never_ends_is_cut_off(
    driver: LibvirtDriver, tiny: Image, make_spec: Any
) -> None:
    driver.settings.libvirt_install_timeout = 0
    spec = make_spec()
    driver.provision(spec)
    assert driver.observe(spec).power == "shutoff"
    assert spec.state["phase"] == "ready"


def test_power_follows_libvirt(driver: LibvirtDriver, tiny: Image, make_spec: Any) -> None:
    spec = make_spec()
    _installed(driver, spec)
    driver.start(spec)
    assert driver.observe(spec).power == "running"
    driver.start(spec)  # idempotent
    driver.reset(spec)
    assert driver.observe(spec).power == "running"
    driver.stop(spec)  # the test driver's guests obey ACPI at once
    assert driver.observe(spec).power == "shutoff"
    driver.start(spec)
    driver.force_stop(spec)
    assert driver.observe(spec).power == "shutoff"
    driver.force_stop(spec)  # idempotent


def test_start_before_installation_is_refused(
    driver: LibvirtDriver, tiny: Image, make_spec: Any
) -> None:
    spec = make_spec()
    driver.provision(spec)
    with pytest.raises(RuntimeError):
        driver.start(spec)


def test_destroy_removes_domain_disk_and_files(
    driver: LibvirtDriver, tiny: Image, make_spec: Any
) -> None:
    spec = make_spec()
    _installed(driver, spec)
    driver.start(spec)
    driver.snapshot(spec, SnapshotSpec(1, spec.id, "s"))
    workdir = Path(spec.state["dir"])
    driver.destroy(spec)
    assert not workdir.exists()
    names = [d.name() for d in driver.hosts.conn(TEST_URI).listAllDomains()]
    assert spec.state["domain"] not in names
    assert driver.observe(spec).power == "absent"
    driver.destroy(spec)  # idempotent
    assert tiny.disk.exists()  # the base image stays


def test_destroy_finds_what_a_provision_left_without_a_record(
    driver: LibvirtDriver, tiny: Image, make_spec: Any
) -> None:
    # A provision that raised after it made the machine (a host that cannot start it):
    # the engine rolled its record back and gave up; destroy must still clean up.
    spec = make_spec()
    driver.provision(spec)
    workdir, name = Path(spec.state["dir"]), spec.state["domain"]
    spec.state = {}
    driver.destroy(spec)
    assert not workdir.exists()
    assert name not in [d.name() for d in driver.hosts.conn(TEST_URI).listAllDomains()]
    assert spec.state["phase"] == "destroyed"


def test_snapshot_restore_delete(driver: LibvirtDriver, tiny: Image, make_spec: Any) -> None:
    spec = make_spec()
    _installed(driver, spec)
    snap = SnapshotSpec(7, spec.id, "before")
    size = driver.snapshot(spec, snap)
    assert size > 0
    assert snap.state["name"] == "aiiro-snapshot-7"
    assert snap.state["disk"] == str(Path(spec.state["dir"]) / "disk.qcow2")
    dom = driver.hosts.conn(TEST_URI).lookupByName(spec.state["domain"])
    assert dom.snapshotListNames() == ["aiiro-snapshot-7"]
    driver.snapshot(spec, snap)  # idempotent
    assert dom.snapshotListNames() == ["aiiro-snapshot-7"]

    driver.restore(spec, snap)
    assert driver.observe(spec).power == "shutoff"  # restored instances stay stopped
    assert "aiiro.firstboot" not in _xml(driver, spec)

    driver.delete_snapshot(spec, snap)
    assert dom.snapshotListNames() == []
    driver.delete_snapshot(spec, snap)  # idempotent


def test_snapshot_of_a_running_instance_restores_stopped(
    driver: LibvirtDriver, tiny: Image, make_spec: Any
) -> None:
    spec = make_spec()
    _installed(driver, spec)
    driver.start(spec)
    snap = SnapshotSpec(8, spec.id, "live")
    driver.snapshot(spec, snap)
    driver.force_stop(spec)
    driver.restore(spec, snap)
    assert driver.observe(spec).power == "shutoff"


def test_instance_from_a_snapshot_gets_its_own_disk(
    driver: LibvirtDriver, tiny: Image, make_spec: Any, tmp_path: Path
) -> None:
    # The test driver does not write qcow2 snapshots, so make the source disk by hand.
    source = make_qcow2(tmp_path / "source.qcow2")
    subprocess.run(["qemu-img", "snapshot", "-c", "aiiro-snapshot-3", str(source)], check=True)
    spec = make_spec(
        source_snapshot={"name": "aiiro-snapshot-3", "disk": str(source), "image": "tiny"}
    )
    driver.provision(spec)
    disk = Path(spec.state["dir"]) / "disk.qcow2"
    info = json.loads(
        subprocess.run(
            ["qemu-img", "info", "--output=json", str(disk)], capture_output=True, text=True
        ).stdout
    )
    assert "backing-filename" not in info  # a standalone copy
    assert info["virtual-size"] == 20 * 1024**3
    assert spec.state["image"] == "tiny"


def test_no_image_for_the_os_fails_the_installation(driver: LibvirtDriver, make_spec: Any) -> None:
    spec = make_spec()
    driver.provision(spec)
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert "no image for OS Debian12" in obs.detail


def test_import_url_downloads_with_progress(
    driver: LibvirtDriver, make_spec: Any, tmp_path: Path
) -> None:
    image = make_qcow2(tmp_path / "import.qcow2", "1G")
    spec = make_spec(os_id=3, os_name="ImportVM", os_family="import")
    spec.import_url = image.as_uri()
    driver.provision(spec)
    assert spec.state["phase"] == "downloading"
    obs = driver.observe(spec)
    assert obs.power in ("provisioning", "shutoff")
    download.wait(Path(spec.state["dir"]) / "import.img", timeout=30)
    obs = driver.observe(spec)
    assert obs.power == "shutoff" and obs.progress == 100
    xml = _xml(driver, spec)
    assert "<boot dev='hd'/>" in xml and "<kernel>" not in xml
    assert (Path(spec.state["dir"]) / "disk.qcow2").exists()
    assert not (Path(spec.state["dir"]) / "import.img").exists()


def test_import_url_that_fails(driver: LibvirtDriver, make_spec: Any, tmp_path: Path) -> None:
    spec = make_spec(os_id=3, os_name="ImportVM", os_family="import")
    spec.import_url = (tmp_path / "missing.qcow2").as_uri()
    driver.provision(spec)
    download.wait(Path(spec.state["dir"]) / "import.img", timeout=30)
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert "no such file" in obs.detail


def test_import_refuses_an_image_with_a_backing_file(
    driver: LibvirtDriver, make_spec: Any, tmp_path: Path
) -> None:
    base = make_qcow2(tmp_path / "base.qcow2")
    sneaky = tmp_path / "sneaky.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(sneaky)],
        check=True,
    )
    spec = make_spec(os_id=3, os_name="ImportVM", os_family="import")
    spec.import_url = sneaky.as_uri()
    driver.provision(spec)
    download.wait(Path(spec.state["dir"]) / "import.img", timeout=30)
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert "backing file" in obs.detail


def test_import_url_scheme_must_be_http_https_or_file(
    driver: LibvirtDriver, make_spec: Any
) -> None:
    spec = make_spec(os_id=3, os_name="ImportVM", os_family="import")
    spec.import_url = "ftp://example.invalid/disk.qcow2"
    driver.provision(spec)
    download.wait(Path(spec.state["dir"]) / "import.img", timeout=30)
    assert driver.observe(spec).power == "provision_failed"


def test_firewall_rules_are_kept_for_the_filter(
    driver: LibvirtDriver, tiny: Image, make_spec: Any
) -> None:
    spec = make_spec()
    rules = [FirewallRule("in", "TCP", "22", "198.51.100.7")]
    driver.apply_firewall(spec, rules)  # before provisioning: the host is chosen now
    assert spec.state["host"] == TEST_URI
    driver.provision(spec)
    assert spec.state["firewall"] == [
        {"direction": "in", "protocol": "TCP", "port": "22", "source": "198.51.100.7"}
    ]
    assert "filterref filter='aiiro-instance-" in _xml(driver, spec)
    assert "<parameter name='IP' value='198.18.0.10'/>" in _xml(driver, spec)
    driver.apply_firewall(spec, None)
    assert spec.state["firewall"] is None


def test_placement_picks_the_host_with_most_free_memory(tmp_path: Path, lv_rt: Any) -> None:
    big = tmp_path / "big.xml"
    big.write_text(
        "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>1</threads>"
        "<active>4</active><mhz>2000</mhz><model>x86_64</model></cpu>"
        "<memory>33554432</memory></node>"
    )
    hosts = Hosts([TEST_URI, f"test://{big}"])
    try:
        assert hosts.place(256) == f"test://{big}"
        assert hosts.capacity(f"test://{big}").memory_mb == 32768
    finally:
        hosts.close()


def test_unreachable_hosts_are_skipped(tmp_path: Path) -> None:
    hosts = Hosts([f"test://{tmp_path / 'missing.xml'}", TEST_URI])
    try:
        assert hosts.place(256) == TEST_URI
    finally:
        hosts.close()


def test_domain_type_auto_is_qemu_on_the_test_driver() -> None:
    hosts = Hosts([TEST_URI])
    assert hosts.domain_type(TEST_URI, "auto") == "qemu"
    assert hosts.domain_type(TEST_URI, "kvm") == "kvm"


def test_console_needs_a_real_host(driver: LibvirtDriver, tiny: Image, make_spec: Any) -> None:
    spec = make_spec()
    _installed(driver, spec)
    driver.start(spec)
    with pytest.raises(libvirt.libvirtError):
        driver.console(spec)  # the test driver has no consoles: see tests/e2e_libvirt


def test_console_of_a_stopped_instance_shows_what_it_printed(
    driver: LibvirtDriver, tiny: Image, make_spec: Any
) -> None:
    spec = make_spec()
    _installed(driver, spec)
    (Path(spec.state["dir"]) / "console.log").write_bytes(b"aiiro: guest ready\r\n")
    console = driver.console(spec)
    out = console.read(timeout=0.1)
    assert out.startswith(b"aiiro: guest ready") and b"not running" in out
    console.write(b"ignored\n")
    assert console.read(timeout=0.05) == b""
    console.close()


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served over HTTP on 127.0.0.1, as an import URL's web server."""
    import functools
    import http.server
    import threading

    served = tmp_path / "www"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_import_url_over_http(
    driver: LibvirtDriver, make_spec: Any, http_dir: tuple[Path, str]
) -> None:
    served, base = http_dir
    make_qcow2(served / "image.qcow2", "1G")
    spec = make_spec(os_id=3, os_name="ImportVM", os_family="import")
    spec.import_url = f"{base}/image.qcow2"
    driver.provision(spec)
    download.wait(Path(spec.state["dir"]) / "import.img", timeout=30)
    obs = driver.observe(spec)
    assert obs.power == "shutoff" and obs.progress == 100
    assert (Path(spec.state["dir"]) / "disk.qcow2").exists()


def test_import_url_over_http_that_answers_404(
    driver: LibvirtDriver, make_spec: Any, http_dir: tuple[Path, str]
) -> None:
    _, base = http_dir
    spec = make_spec(os_id=3, os_name="ImportVM", os_family="import")
    spec.import_url = f"{base}/missing.qcow2"
    driver.provision(spec)
    download.wait(Path(spec.state["dir"]) / "import.img", timeout=30)
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert "HTTP 404" in obs.detail
