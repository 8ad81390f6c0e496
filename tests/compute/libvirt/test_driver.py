"""The libvirt driver against libvirt's test driver (`test:///default`): domains are
defined, started, snapshotted and removed in memory; disks are real qcow2 files."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from aiiro.compute.driver import FirewallRule, HostUnreachable, SnapshotSpec
from aiiro.compute.libvirt import LibvirtDriver, download
from aiiro.compute.libvirt.hosts import Hosts
from aiiro.images.store import Image

from .conftest import TEST_URI, Web, make_qcow2

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")


# A host for libvirt's test driver (`test:///path/to/this.xml`): its memory, no machines.
NODE_XML = (
    "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>1</threads>"
    "<active>4</active><mhz>2000</mhz><model>x86_64</model></cpu>"
    "<memory>{memory_kib}</memory></node>"
)


def _cleanup(hosts: Hosts) -> None:
    conn = hosts.conn(TEST_URI)
    for dom in conn.listAllDomains():
        if dom.name().startswith("aiiro-"):
            if dom.isActive():
                dom.destroy()
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
    hosts.close()


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


def _import(driver: LibvirtDriver, make_spec: Any, url: str, **kw: Any) -> Any:
    """Provision an import of `url` and wait for its download to end."""
    spec = make_spec(os_id=3, os_name="ImportVM", os_family="import", **kw)
    spec.import_url = url
    driver.provision(spec)
    assert spec.state["phase"] == "downloading"
    download.wait(Path(spec.state["dir"]) / "import.img", timeout=30)
    return spec


def test_import_url_downloads_with_progress(
    driver: LibvirtDriver, make_spec: Any, web: Web
) -> None:
    make_qcow2(web.root / "image.qcow2", "1G")
    spec = _import(driver, make_spec, f"{web.base}/image.qcow2")
    obs = driver.observe(spec)
    assert obs.power == "shutoff" and obs.progress == 100
    xml = _xml(driver, spec)
    assert "<boot dev='hd'/>" in xml and "<kernel>" not in xml
    assert (Path(spec.state["dir"]) / "disk.qcow2").exists()
    assert not (Path(spec.state["dir"]) / "import.img").exists()
    assert web.hosts == [f"127.0.0.1:{web.port}"]


def test_a_file_url_is_never_read(driver: LibvirtDriver, make_spec: Any, tmp_path: Path) -> None:
    image = make_qcow2(tmp_path / "on-the-host.qcow2", "1G")
    spec = _import(driver, make_spec, image.as_uri())
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert obs.detail == "the URL must be an http or https URL"
    assert not (Path(spec.state["dir"]) / "disk.qcow2").exists()


def test_import_url_scheme_must_be_http_or_https(driver: LibvirtDriver, make_spec: Any) -> None:
    spec = _import(driver, make_spec, "ftp://example.invalid/disk.qcow2")
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert obs.detail == "the URL must be an http or https URL"


def test_import_refuses_an_image_with_a_backing_file(
    driver: LibvirtDriver, make_spec: Any, web: Web, tmp_path: Path
) -> None:
    base = make_qcow2(tmp_path / "base.qcow2")
    sneaky = web.root / "sneaky.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(sneaky)],
        check=True,
    )
    spec = _import(driver, make_spec, f"{web.base}/sneaky.qcow2")
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert obs.detail == "the image refers to a backing file"


def test_import_refuses_a_vmdk_that_names_a_file_of_the_host(
    driver: LibvirtDriver, make_spec: Any, web: Web, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"host secret\n".ljust(512, b"\0"))
    (web.root / "disk.vmdk").write_text(
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
        'createType="monolithicFlat"\n'
        f'RW 1 FLAT "{secret}" 0\n'
    )
    spec = _import(driver, make_spec, f"{web.base}/disk.vmdk")
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert obs.detail == "the image is vmdk, not qcow2 or raw"
    assert not (Path(spec.state["dir"]) / "disk.qcow2").exists()


def test_import_refuses_an_image_larger_than_the_plan_disk(
    driver: LibvirtDriver, make_spec: Any, web: Web
) -> None:
    make_qcow2(web.root / "big.qcow2", "21G")  # a few hundred kilobytes of qcow2
    spec = _import(driver, make_spec, f"{web.base}/big.qcow2", disk_gb=20)
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert obs.detail == "the image is larger than the plan's disk (20 GB)"


def test_import_from_an_address_that_is_not_allowed(
    driver: LibvirtDriver, make_spec: Any, other_web: Web
) -> None:
    make_qcow2(other_web.root / "image.qcow2", "1G")
    spec = _import(driver, make_spec, f"{other_web.base}/image.qcow2")
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert obs.detail == "127.0.0.2 is a loopback address"
    assert other_web.hosts == []  # never asked


def test_import_from_the_metadata_address_is_refused(driver: LibvirtDriver, make_spec: Any) -> None:
    spec = _import(driver, make_spec, "http://169.254.169.254/latest/meta-data/")
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert obs.detail == "169.254.169.254 is a link-local address"


def test_a_redirect_is_followed_and_checked_again(
    driver: LibvirtDriver, make_spec: Any, web: Web, other_web: Web
) -> None:
    make_qcow2(web.root / "image.qcow2", "1G")
    make_qcow2(other_web.root / "image.qcow2", "1G")
    spec = _import(driver, make_spec, f"{web.base}/redirect?to=/image.qcow2")
    assert driver.observe(spec).power == "shutoff"
    spec = _import(driver, make_spec, f"{web.base}/redirect?to={other_web.base}/image.qcow2")
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert obs.detail == "127.0.0.2 is a loopback address"
    assert other_web.hosts == []
    spec = _import(driver, make_spec, f"{web.base}/redirect?to=file:///etc/passwd")
    assert driver.observe(spec).detail == "the URL must be an http or https URL"


def test_redirects_end_somewhere(driver: LibvirtDriver, make_spec: Any, web: Web) -> None:
    url = f"{web.base}/image.qcow2"
    for _ in range(6):
        url = f"{web.base}/redirect?to={quote(url, safe='')}"
    spec = _import(driver, make_spec, url)
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert obs.detail.endswith("redirects more than 5 times")


def test_an_answer_larger_than_the_plan_disk_is_refused(
    driver: LibvirtDriver, make_spec: Any, web: Web
) -> None:
    spec = _import(driver, make_spec, f"{web.base}/huge", disk_gb=20)
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert obs.detail == (
        f"{web.base}/huge would send 22548578304 bytes, "
        "more than the plan's disk (21474836480 bytes)"
    )


def test_a_download_that_takes_too_long_is_cut_off(
    driver: LibvirtDriver, make_spec: Any, web: Web
) -> None:
    driver.settings.import_timeout_s = 0.5
    spec = _import(driver, make_spec, f"{web.base}/drip")
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert obs.detail == f"{web.base}/drip takes longer than 0.5 s"


def test_the_download_connects_to_the_address_it_checked(
    driver: LibvirtDriver, make_spec: Any, web: Web, other_web: Web, monkeypatch: Any
) -> None:
    """A name that answers otherwise the second time (DNS rebinding) is not asked twice:
    the connection goes to the checked address, with the name in the Host header."""
    make_qcow2(web.root / "image.qcow2", "1G")
    make_qcow2(other_web.root / "image.qcow2", "1G")
    answers = iter(["127.0.0.1", "127.0.0.2", "127.0.0.2"])
    real = socket.getaddrinfo

    def lookup(host: str, port: int, *args: Any, **kw: Any) -> list[Any]:
        if host != "images.test":
            return real(host, port, *args, **kw)  # (a literal address: no lookup)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    spec = _import(driver, make_spec, f"http://images.test:{web.port}/image.qcow2")
    obs = driver.observe(spec)
    assert (obs.power, obs.detail) == ("shutoff", "")
    assert web.hosts == [f"images.test:{web.port}"]
    assert other_web.hosts == []


def test_credentials_in_the_url_stay_out_of_the_record(
    driver: LibvirtDriver, make_spec: Any, web: Web
) -> None:
    url = f"http://alice:s3cret@127.0.0.1:{web.port}/missing.qcow2"
    spec = _import(driver, make_spec, url)
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert obs.detail == f"HTTP 404 from http://***@127.0.0.1:{web.port}/missing.qcow2"
    assert "s3cret" not in (Path(spec.state["dir"]) / "import.json").read_text()
    assert "s3cret" not in json.dumps(spec.state)


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
    big.write_text(NODE_XML.format(memory_kib=33554432))
    hosts = Hosts([TEST_URI, f"test://{big}"])
    try:
        assert hosts.place(256) == f"test://{big}"
        assert hosts.capacity(f"test://{big}").memory_mb == 32768
    finally:
        hosts.close()


class SilentDaemon:
    """A Unix socket that accepts connections and never answers: a libvirt daemon that
    hangs (stopped with SIGSTOP, or stuck), as a client meets it."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(16)
        self.accepted: list[socket.socket] = []
        self.uri = f"qemu+unix:///system?socket={path}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.accepted.append(self.sock.accept()[0])

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent(tmp_path: Path) -> Iterator[SilentDaemon]:
    daemon = SilentDaemon(tmp_path / "silent-sock")
    yield daemon
    daemon.close()


def test_a_host_that_never_answers_is_given_up_and_not_asked_again_at_once(
    silent: SilentDaemon,
) -> None:
    hosts = Hosts([silent.uri, TEST_URI], timeout_s=1.0)
    try:
        assert hosts.place(256) == TEST_URI  # new instances go where a host answers
        assert len(silent.accepted) == 1
        with pytest.raises(HostUnreachable, match="no answer within 1 s"):
            hosts.conn(silent.uri)  # at once: the host was found silent a moment ago
        assert len(silent.accepted) == 1
        assert [(h.uri, h.answering) for h in hosts.status()] == [
            (silent.uri, False),
            (TEST_URI, True),
        ]
        assert hosts.conn(TEST_URI).getType() == "TEST"  # the others are not held up
    finally:
        hosts.close()


def test_a_host_that_refuses_is_unreachable_then_answers_again(tmp_path: Path) -> None:
    later = tmp_path / "later.xml"
    uri = f"test://{later}"
    hosts = Hosts([uri, TEST_URI], timeout_s=0.2)
    try:
        assert hosts.place(256) == TEST_URI
        with pytest.raises(HostUnreachable):
            hosts.conn(uri)
        later.write_text(NODE_XML.format(memory_kib=33554432))
        time.sleep(0.3)  # past the pause before a silent host is tried again
        assert hosts.place(256) == uri  # back, and with the most free memory
        assert [h.answering for h in hosts.status()] == [True, True]
    finally:
        hosts.close()


def test_no_host_answers(tmp_path: Path) -> None:
    hosts = Hosts([f"test://{tmp_path / 'missing.xml'}"], timeout_s=1.0)
    with pytest.raises(HostUnreachable, match="no compute host answers"):
        hosts.place(256)


def test_new_instances_go_to_a_host_that_answers_and_a_silent_one_is_marked(
    lv_rt: Any, tiny: Image, make_spec: Any, silent: SilentDaemon
) -> None:
    hosts = Hosts([silent.uri, TEST_URI], timeout_s=1.0)
    drv = LibvirtDriver(lv_rt, hosts)
    spec = make_spec()
    try:
        drv.provision(spec)
        assert spec.state["host"] == TEST_URI
        lost = make_spec()
        lost.state.update(host=silent.uri, domain=f"aiiro-{lost.id}", phase="ready")
        with pytest.raises(HostUnreachable):
            drv.observe(lost)  # what reconciliation marks the instance for
        assert drv.observe(spec).power == "provisioning"
    finally:
        _cleanup(hosts)


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


def test_import_url_over_http_that_answers_404(
    driver: LibvirtDriver, make_spec: Any, web: Web
) -> None:
    spec = _import(driver, make_spec, f"{web.base}/missing.qcow2")
    obs = driver.observe(spec)
    assert obs.power == "provision_failed"
    assert obs.detail == f"HTTP 404 from {web.base}/missing.qcow2"
