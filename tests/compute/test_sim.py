"""The sim driver: a model of a machine kept in the driver state."""

from __future__ import annotations

import json

import pytest

from aiiro.compute.driver import FirewallRule, InstanceSpec, SnapshotSpec
from aiiro.compute.sim import SimDriver, answers, console_text, guest_detail, import_refusal
from aiiro.config import Settings
from aiiro.domain.specs import spec_of
from aiiro.emulator import state
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime
from aiiro.store.models import Instance
from tests.api.instance_helpers import command, create_id, register_key
from tests.conftest import Account


def spec(family: str = "linux", url: str | None = None) -> InstanceSpec:
    return InstanceSpec(
        id=7,
        name="web1",
        os_id=22 if family == "linux" else (11 if family == "windows" else 3),
        os_name="Debian12",
        os_family=family,  # type: ignore[arg-type]
        cpus=1,
        memory_mb=768,
        disk_gb=20,
        region_id=1,
        ssh_public_key="ssh-rsa AAAAkey",
        import_url=url,
    )


@pytest.fixture
def sim(rt: Runtime) -> SimDriver:
    state.switch(rt, None, "fast", None)
    return SimDriver(rt)


def installed(rt: Runtime, sim: SimDriver, s: InstanceSpec) -> InstanceSpec:
    sim.provision(s)
    rt.clock.advance(60)
    assert sim.observe(s).power == "shutoff"
    return s


def test_install_takes_the_profile_time_then_the_machine_is_off(
    rt: Runtime, sim: SimDriver
) -> None:
    s = spec()
    sim.provision(s)
    assert sim.observe(s).power == "provisioning"
    sim.provision(s)  # idempotent: a repeat after a crash changes nothing
    rt.clock.advance(2.0)
    assert sim.observe(s).power == "shutoff"
    assert s.state["boots"] == 1  # Indigo boots a new machine once, then stops it
    text = console_text(rt, s.state)
    assert "Installing Debian GNU/Linux 12 on web1" in text
    assert "Debian GNU/Linux 12 web1 ttyS0" in text and "reboot: Power down" in text
    assert sim.read_file(s.state, "/root/.ssh/authorized_keys") == "ssh-rsa AAAAkey\n"


def test_import_reports_progress_and_bad_urls_fail(rt: Runtime, sim: SimDriver) -> None:
    good = spec("import", "https://example.com/disk.qcow2")
    sim.provision(good)
    rt.clock.advance(1.5)  # half of the fast profile's 3 s
    obs = sim.observe(good)
    assert obs.power == "provisioning" and obs.progress == 50
    rt.clock.advance(2)
    assert sim.observe(good).power == "shutoff"
    bad = spec("import", "ftp://")
    sim.provision(bad)
    assert sim.observe(bad).progress == 0
    rt.clock.advance(1)
    obs = sim.observe(bad)
    assert obs.power == "provision_failed" and obs.detail == "the URL must be an http or https URL"


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://example.com/a.qcow2", None),  # names for documentation: no lookup
        ("https://images.example.org/a.qcow2", None),
        ("http://mirror.example/x.img", None),
        ("https://1.1.1.1/disk.qcow2", None),
        ("https://notexample.com.invalid/a", "the name notexample.com.invalid does not resolve"),
        ("https://images.invalid/a", "the name images.invalid does not resolve"),
        ("http://10.0.0.1/x.img", "10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[::1]:8080/a", "::1 is a loopback address"),
        ("ftp://mirror.example.org/x", "the URL must be an http or https URL"),
        ("file:///etc/passwd", "the URL must be an http or https URL"),
        ("example.com/a.qcow2", "the URL must be an http or https URL"),
        ("", "the URL must be an http or https URL"),
        (None, "the URL must be an http or https URL"),
    ],
)
def test_which_import_urls_the_sim_refuses(url: str | None, refused: str | None) -> None:
    assert import_refusal(url, Settings()) == refused


def test_the_sim_takes_the_networks_the_operator_allows() -> None:
    allowing = Settings(import_allow_networks="10.0.0.0/8")
    assert import_refusal("http://10.0.0.1/x.img", allowing) is None
    assert import_refusal("http://127.0.0.1/x.img", allowing) == "127.0.0.1 is a loopback address"


def test_an_import_from_the_metadata_address_fails_after_the_first_step(
    rt: Runtime, sim: SimDriver
) -> None:
    bad = spec("import", "http://169.254.169.254/latest/meta-data/")
    sim.provision(bad)
    assert bad.state["task"]["refused"] == "169.254.169.254 is a link-local address"
    assert sim.observe(bad).power == "provisioning"
    rt.clock.advance(1)
    obs = sim.observe(bad)
    assert obs.power == "provision_failed"
    assert obs.detail == "169.254.169.254 is a link-local address"


def test_boot_log_appears_over_the_boot_time(rt: Runtime, sim: SimDriver) -> None:
    s = installed(rt, sim, spec())
    before = console_text(rt, s.state)
    sim.start(s)
    assert guest_detail(rt, s.state) == "booting" and not answers(rt, s.state)
    rt.clock.advance(0.5)
    middle = console_text(rt, s.state)[len(before) :]
    assert "Linux version" in middle and "login:" not in middle
    rt.clock.advance(1)
    after = console_text(rt, s.state)[len(before) :]
    assert after.endswith("\r\nDebian GNU/Linux 12 web1 ttyS0\r\n\r\nweb1 login: ")
    assert answers(rt, s.state)


def test_stop_takes_the_stop_time(rt: Runtime, sim: SimDriver) -> None:
    s = installed(rt, sim, spec())
    sim.start(s)
    sim.stop(s)
    assert sim.observe(s).power == "running"
    rt.clock.advance(1.0)
    assert sim.observe(s).power == "shutoff"
    sim.stop(s)  # idempotent
    assert sim.observe(s).power == "shutoff"


def test_grub_stuck_boot_until_forcestop_and_start(rt: Runtime, sim: SimDriver) -> None:
    s = installed(rt, sim, spec())
    sim.stick_next_boot(s.state)
    sim.start(s)
    rt.clock.advance(10)
    obs = sim.observe(s)
    assert obs.power == "running" and obs.detail == "grub"  # reports running...
    assert not answers(rt, s.state)  # ...but the guest does not answer
    assert console_text(rt, s.state).endswith("grub> ")
    sim.stop(s)  # GRUB knows nothing of ACPI
    rt.clock.advance(600)
    assert sim.observe(s).power == "running"
    sim.reset(s)  # a reset boots into the same hang
    rt.clock.advance(10)
    assert guest_detail(rt, s.state) == "grub"
    sim.force_stop(s)
    sim.start(s)
    rt.clock.advance(10)
    assert sim.observe(s).detail == "up" and answers(rt, s.state)
    assert console_text(rt, s.state).endswith("web1 login: ")


def test_snapshot_and_restore_put_the_disk_back(rt: Runtime, sim: SimDriver) -> None:
    s = installed(rt, sim, spec())
    sim.write_file(s.state, "/root/note.txt", "before")
    snap = SnapshotSpec(id=1, instance_id=s.id, name="snap")
    size = sim.snapshot(s, snap)
    assert size > 1_000_000_000
    sim.write_file(s.state, "/root/note.txt", "after")
    sim.write_file(s.state, "/root/new.txt", "x" * 10_000)
    assert sim.snapshot(s, SnapshotSpec(2, s.id, "bigger")) > size
    sim.restore(s, snap)
    assert sim.read_file(s.state, "/root/note.txt") == "before"
    assert sim.read_file(s.state, "/root/new.txt") is None
    json.dumps(snap.state)  # storable as it is
    sim.delete_snapshot(s, snap)
    with pytest.raises(ValueError):
        sim.restore(s, snap)


def test_create_from_a_snapshot_copies_its_disk(rt: Runtime, sim: SimDriver) -> None:
    s = installed(rt, sim, spec())
    sim.write_file(s.state, "/srv/app", "v1")
    snap = SnapshotSpec(1, s.id, "base")
    sim.snapshot(s, snap)
    clone = spec()
    clone.source_snapshot = snap.state
    installed(rt, sim, clone)
    assert sim.read_file(clone.state, "/srv/app") == "v1"


def test_firewall_rules_are_kept(rt: Runtime, sim: SimDriver) -> None:
    s = installed(rt, sim, spec())
    sim.apply_firewall(s, [FirewallRule("in", "TCP", "22", "203.0.113.5")])
    assert s.state["firewall"] == [
        {"direction": "in", "protocol": "TCP", "port": "22", "source": "203.0.113.5"}
    ]
    sim.apply_firewall(s, None)
    assert s.state["firewall"] is None


def test_destroy_leaves_nothing(rt: Runtime, sim: SimDriver) -> None:
    s = installed(rt, sim, spec())
    sim.start(s)
    sim.destroy(s)
    assert sim.observe(s).power == "absent"
    assert s.state["disk"]["files"] == {}
    sim.destroy(s)  # idempotent


def test_console_stream_reads_from_the_store(rt: Runtime, alice: Account, engine: Engine) -> None:
    state.switch(rt, engine, "fast", None)
    iid = create_id(alice, register_key(alice), "con1")
    rt.clock.advance(5)
    assert command(alice, iid, "start").status_code == 200
    driver = engine.driver
    with rt.db.read() as s:
        inst = s.get(Instance, iid)
        assert inst is not None
        stream = driver.console(spec_of(rt, s, inst))
    first = stream.read()
    assert b"Linux version" in first and b"con1 login: " not in first.split(b"ttyS0")[-1]
    rt.clock.advance(2)
    rest = stream.read()
    assert rest.endswith(b"con1 login: ")
    assert stream.read() == b""  # nothing new
    stream.write(b"root\r")
    assert stream.read() == b"root\r\nPassword: "
    stream.write(b"secret\r")
    assert stream.read() == b"\r\n\r\nLogin incorrect\r\ncon1 login: "  # no echo of passwords
    stream.close()
