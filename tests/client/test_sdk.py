"""The SDK against an in-process aiiro (profile instant, virtual clock): every resource,
lookups by name, waiters, idempotent helpers, token refresh, quota waits, workflows."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from aiiro.client import (
    AsyncIndigo,
    BootFailed,
    Indigo,
    IndigoError,
    IndigoWarning,
    LookupFailed,
    Rule,
    StateError,
)
from aiiro.client.boot import aiiro_probe, function_check
from aiiro.client_core.config import Places
from aiiro.client_core.policy import Http, Reply
from aiiro.client_core.transport import HttpxSend
from aiiro.runtime import Runtime
from tests.conftest import Account

ENDPOINT = "http://aiiro.test"
ADMIN = {"Authorization": "Bearer test-admin-token"}


class Recorder:
    """The in-process transport, keeping (method, path, status) of every exchange."""

    def __init__(self, client: TestClient) -> None:
        self.inner = HttpxSend(client)
        self.log: list[tuple[str, str, int]] = []

    def __call__(self, h: Http) -> Reply:
        r = self.inner(h)
        self.log.append((h.method, h.url.removeprefix(ENDPOINT).split("?")[0], r.status))
        return r

    def count(self, method: str, path: str, status: int | None = None) -> int:
        return sum(1 for m, p, s in self.log if m == method and p == path and status in (None, s))


@pytest.fixture
def wire(client: TestClient) -> Recorder:
    return Recorder(client)


@pytest.fixture
def indigo(alice: Account, rt: Runtime, places: Places, wire: Recorder) -> Indigo:
    return Indigo(
        alice.api_key,
        alice.api_secret,
        ENDPOINT,
        places=places,
        transport=wire,
        clock=rt.clock.time,
        sleep=rt.clock.advance,
    )


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("keys") / "id_rsa"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "", "-f", str(path)],
        check=True,
    )
    return " ".join(Path(f"{path}.pub").read_text().split()[:2])


@pytest.fixture
def web1(indigo: Indigo, rsa_key: str) -> Iterator[int]:
    indigo.sshkeys.create("mykey", rsa_key)
    inst = indigo.instances.create_and_start(
        "web1", os="Debian12", plan="1CR768MB", region="Tokyo", ssh_key="mykey", poll=1
    )
    yield inst.id


def test_the_readme_sketch(
    client: TestClient, alice: Account, places: Places, rsa_key: str
) -> None:
    indigo = Indigo(
        api_key=alice.api_key,
        api_secret=alice.api_secret,
        endpoint=ENDPOINT,
        http_client=client,
        places=places,
    )
    indigo.sshkeys.create("k", rsa_key)
    indigo.instances.create("web1", os="Debian12", plan="1CR768MB", ssh_key="k")
    seen = [(inst.instance_name, inst.instancestatus) for inst in indigo.instances.list()]
    assert seen == [("web1", "Stopped")]  # the instant profile: installed already


def test_create_by_names_then_the_lifecycle(indigo: Indigo, rsa_key: str) -> None:
    key = indigo.sshkeys.create("mykey", rsa_key)
    inst = indigo.instances.create(
        "web1", os="Debian 12", plan="1vCPU768MB20GB", region="Tokyo", ssh_key="mykey"
    )
    assert (inst.os_id, inst.plan_id, inst.sshkey_id) == (22, 13, key.id)
    assert indigo.instances.wait_until("web1", "Stopped", poll=1).stopped

    running = indigo.instances.ensure_running("web1", poll=1)
    assert running.running and running.ip
    assert indigo.instances.ensure_running(inst.id).running  # already: nothing sent
    with pytest.raises(StateError) as caught:
        indigo.instances.start("web1")
    assert caught.value.code == "I10016"
    with pytest.raises(StateError) as caught:
        indigo.instances.destroy("web1")
    assert caught.value.code == "I10055"

    assert indigo.instances.ensure_stopped("web1", poll=1).stopped
    assert indigo.instances.ensure_stopped("web1").stopped
    with pytest.raises(StateError) as caught:
        indigo.instances.stop("web1")
    assert caught.value.code == "I10017"

    out = indigo.instances.destroy("web1")
    assert (out.code, out.instance_status) == ("I20010", "shutoff")
    indigo.instances.wait_gone(inst.id, poll=1)
    assert indigo.instances.list() == []


def test_forcestop_and_reset(indigo: Indigo, web1: int) -> None:
    assert indigo.instances.reset(web1).success
    assert indigo.instances.wait_until(web1, "Running", poll=1).running
    assert indigo.instances.forcestop("web1").success
    assert indigo.instances.wait_until(web1, "Stopped", poll=1).stopped


def test_a_name_in_use_is_warned_about_not_refused(indigo: Indigo, web1: int) -> None:
    """The API allows two instances of one name; the SDK creates the second, with a
    warning, since the name then stops naming one instance."""
    with pytest.warns(IndigoWarning) as caught:
        again = indigo.instances.create("web1", os="Debian12", plan="1CR768MB", ssh_key="mykey")
    assert str(caught[0].message) == (
        f"an instance named 'web1' already exists (id {web1}); the API allows another, but "
        "then 'web1' names more than one: use ids, or another name"
    )
    assert again.id != web1


def test_lookups_by_name_or_id(indigo: Indigo, rsa_key: str) -> None:
    indigo.sshkeys.create("twin", rsa_key)
    indigo.sshkeys.create("twin", rsa_key)
    with pytest.raises(LookupFailed, match="2 SSH keys are named 'twin'"):
        indigo.sshkeys.get("twin")
    with pytest.raises(LookupFailed, match="no instance named 'nope'"):
        indigo.instances.get("nope")
    assert indigo.catalog.find_region("tokyo").name == "Tokyo"
    assert indigo.catalog.find_os("ubuntu 24.04").name == "Ubuntu24.04"
    assert indigo.catalog.find_plan("2CR2GB", os="Debian12").code == "2vCPU2GB40GB"


def test_sshkeys(indigo: Indigo, rsa_key: str) -> None:
    key = indigo.sshkeys.create("k1", rsa_key)
    assert indigo.sshkeys.deactivate("k1").success
    assert not indigo.sshkeys.get(key.id).active
    assert indigo.sshkeys.list(active_only=True) == []
    indigo.sshkeys.activate(key.id)
    indigo.sshkeys.update("k1", name="renamed")
    assert [k.name for k in indigo.sshkeys.list(active_only=True)] == ["renamed"]
    assert indigo.sshkeys.delete("renamed").success
    assert indigo.sshkeys.list() == []


def test_apikeys(indigo: Indigo) -> None:
    new = indigo.apikeys.create()
    assert new.api_key and new.api_secret
    keys = indigo.apikeys.list()
    assert new.api_key in [k.api_key for k in keys]
    created = next(k for k in keys if k.api_key == new.api_key)
    assert indigo.apikeys.delete(created.id).success
    assert new.api_key not in [k.api_key for k in indigo.apikeys.list()]


def test_firewalls(indigo: Indigo, web1: int) -> None:
    ssh = Rule("TCP", "22", "203.0.113.5")
    out = indigo.firewalls.create("web", inbound=[ssh], instances=["web1"])
    assert out.code == "F60002" and out.firewall_id
    [fw] = indigo.firewalls.list()
    assert (fw.id, fw.name) == (out.firewall_id, "web")
    assert indigo.firewalls.get("web").inbound == [ssh]

    ntp = Rule("UDP", "123")
    upd = indigo.firewalls.update("web", inbound=[ntp, ssh], outbound=[Rule("TCP", "443")])
    assert (upd.code, upd.firewall_id) == ("F6004", fw.id)
    got = indigo.firewalls.get(fw.id)
    assert got.inbound == [ntp, ssh] and [r.port for r in got.outbound] == ["443"]
    assert got.name == "web"  # name kept

    assert indigo.firewalls.assign("web", web1).code == "F60003"
    with pytest.raises(StateError) as caught:
        indigo.firewalls.delete("web")
    assert caught.value.code == "F60009"


def test_token_refreshed_on_the_virtual_clock(indigo: Indigo, rt: Runtime, wire: Recorder) -> None:
    indigo.instances.list()
    rt.clock.advance(3600)  # the token (3599 s) has expired on the server too
    indigo.instances.list()
    assert wire.count("POST", "/oauth/v1/accesstokens") == 2
    assert wire.count("GET", "/webarenaIndigo/v1/vm/getinstancelist", 401) == 0


def test_401_fetches_a_token_once(
    alice: Account, rt: Runtime, places: Places, wire: Recorder
) -> None:
    # A client whose clock does not move cannot know its token expired.
    frozen = rt.clock.time()
    indigo = Indigo(
        alice.api_key,
        alice.api_secret,
        ENDPOINT,
        places=places,
        transport=wire,
        clock=lambda: frozen,
    )
    indigo.instances.list()
    rt.clock.advance(3600)
    assert indigo.instances.list() == []
    assert wire.count("GET", "/webarenaIndigo/v1/vm/getinstancelist", 401) == 1
    assert wire.count("POST", "/oauth/v1/accesstokens") == 2


class TestQuota:
    @pytest.fixture
    def settings(self, settings: Any) -> Any:
        settings.quota = True  # 6 requests per minute per key, as on Indigo
        return settings

    def test_waits_instead_of_failing(
        self, indigo: Indigo, rt: Runtime, wire: Recorder, caplog: pytest.LogCaptureFixture
    ) -> None:
        start = rt.clock.time()
        with caplog.at_level("DEBUG", logger="aiiro.client"):
            for _ in range(13):
                assert indigo.instances.list() == []
        assert rt.clock.time() - start >= 60  # two resets waited for, on the virtual clock
        assert wire.count("GET", "/webarenaIndigo/v1/vm/getinstancelist", 429) == 0
        assert "quota used up" in caplog.text

    def test_each_wait_is_told(self, indigo: Indigo, rt: Runtime) -> None:
        """The CLI shows these (a minute's wait would look like a hang)."""
        told: list[str] = []
        indigo.engine.on_quota_wait = told.append
        for _ in range(7):
            indigo.instances.list()
        assert len(told) == 1
        assert told[0].startswith("waiting ") and told[0].endswith(
            " s for the API quota (6 requests a minute)"
        )

    def test_a_429_from_elsewhere_is_waited_out(
        self, indigo: Indigo, alice: Account, rt: Runtime, wire: Recorder
    ) -> None:
        for _ in range(6):  # another program uses the key's whole minute
            assert alice.get("/webarenaIndigo/v1/vm/getinstancelist").status_code == 200
        assert indigo.instances.list() == []
        assert wire.count("GET", "/webarenaIndigo/v1/vm/getinstancelist", 429) == 1
        assert wire.count("GET", "/webarenaIndigo/v1/vm/getinstancelist", 200) == 1


def add_fault(client: TestClient, **rule: Any) -> None:
    r = client.post("/_aiiro/faults", json=rule, headers=ADMIN)
    assert r.status_code == 201, r.text


def test_snapshots(indigo: Indigo, web1: int, client: TestClient) -> None:
    snap = indigo.snapshots.take("web1", "before-upgrade", wait=True, poll=1)
    assert snap.created and snap.size and snap.completed_at
    assert [s.name for s in indigo.snapshots.list(web1)] == ["before-upgrade"]
    assert indigo.snapshots.get("web1", "before-upgrade").id == snap.id

    add_fault(client, action="snapshot_fails", operation="takesnapshot", count=1)
    bad = indigo.snapshots.take(web1, "doomed", slot=1)
    with pytest.raises(Exception, match="failed"):
        indigo.snapshots.wait_until(web1, bad.id, poll=1)
    assert indigo.snapshots.retake(web1, "doomed").success
    assert indigo.snapshots.wait_until(web1, "doomed", poll=1).created
    assert indigo.snapshots.delete("doomed", instance="web1").success
    assert [s.name for s in indigo.snapshots.list(web1)] == ["before-upgrade"]


def test_take_uses_the_lowest_free_slot(indigo: Indigo, web1: int) -> None:
    """As the control panel does; a full instance is an error that says what to do."""
    for name in ("s0", "s1", "s2"):
        indigo.snapshots.take(web1, name, wait=True, poll=1)
    indigo.snapshots.delete("s1", instance=web1)
    assert indigo.snapshots.take(web1, "again", poll=1).slot_number == 1
    for name in ("s3", "s4"):
        indigo.snapshots.take(web1, name, poll=1)
    slots = {s.name: s.slot_number for s in indigo.snapshots.list(web1)}
    assert slots == {"s0": 0, "again": 1, "s2": 2, "s3": 3, "s4": 4}
    with pytest.raises(IndigoError) as caught:
        indigo.snapshots.take(web1, "one-too-many")
    assert caught.value.message == (
        f"every snapshot slot of instance {web1} is used (0-4: s0, again, s2, s3, s4)"
    )
    assert caught.value.hint == f"delete one first: `aiiro snapshot delete {web1} NAME`"


def test_restore_cures_a_boot_stuck_at_grub(
    indigo: Indigo, web1: int, client: TestClient, rt: Runtime
) -> None:
    indigo.snapshots.take(web1, "before-upgrade", wait=True, poll=1)
    add_fault(client, action="boot_stuck", operation="restoresnapshot", count=1)
    steps: list[str] = []
    inst = indigo.snapshots.restore(
        "web1",
        "before-upgrade",
        boot_check=aiiro_probe("test-admin-token"),
        boot_timeout=30,
        poll=1,
        on_step=steps.append,
    )
    assert inst.running
    assert any("forcestop" in s for s in steps)  # it hung, and was cured
    probe = client.post(
        f"/_aiiro/instances/{web1}/probe", headers=ADMIN, json={"source": "192.0.2.1", "port": 22}
    )
    assert probe.json()["admitted"] is True


def test_restore_reports_a_boot_it_cannot_cure(
    indigo: Indigo, web1: int, client: TestClient
) -> None:
    indigo.snapshots.take(web1, "s", wait=True, poll=1)
    add_fault(client, action="boot_stuck", operation="restoresnapshot", count=1)
    with pytest.raises(BootFailed) as caught:
        indigo.snapshots.restore(
            web1, "s", boot_check=aiiro_probe("test-admin-token"), boot_timeout=10, cures=0, poll=1
        )
    assert "did not answer" in caught.value.message and caught.value.hint


def test_restore_with_a_check_of_your_own(indigo: Indigo, web1: int) -> None:
    indigo.snapshots.take(web1, "s", wait=True, poll=1)
    answers = iter([False, False, True])
    seen: list[str] = []

    def check(inst: Any) -> bool:
        seen.append(inst.instance_name)
        return next(answers)

    inst = indigo.snapshots.restore(web1, "s", boot_check=function_check(check), poll=1)
    assert inst.running and seen == ["web1"] * 3


def test_async_client(app: Any, alice: Account, places: Places, rsa_key: str) -> None:
    async def scenario() -> list[str]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        async with AsyncIndigo(
            alice.api_key, alice.api_secret, ENDPOINT, places=places, http_client=http
        ) as indigo:
            await indigo.sshkeys.create("k", rsa_key)
            inst = await indigo.instances.create_and_start(
                "a1", os="Debian12", plan="1CR768MB", ssh_key="k", poll=0.01
            )
            assert inst.running
            await indigo.instances.ensure_stopped("a1", poll=0.01)
            return [i.instancestatus or "" for i in await indigo.instances.list()]

    assert asyncio.run(scenario()) == ["Stopped"]


def test_create_variants(indigo: Indigo, web1: int) -> None:
    """Windows (password), import from a URL (hidden OS 3), and from a snapshot."""
    win = indigo.instances.create(
        "win1", os="WindowsServer2022", plan="2CR1GB", win_password="Test#2345jh"
    )
    assert (win.os_id, win.plan, win.sshkey_id) == (11, "2CR1GB", 0)
    imported = indigo.instances.create(
        "imp1", import_url="https://example.com/disk.qcow2", plan="1CR1GB"
    )
    assert imported.os_id == 3 and imported.import_instance
    assert indigo.instances.wait_until("imp1", "Stopped", poll=1).stopped
    snap = indigo.snapshots.take(web1, "golden", wait=True, poll=1)
    copy = indigo.instances.create("copy1", snapshot=snap.id, plan="1CR768MB", ssh_key="mykey")
    assert copy.snapshot_id == snap.id
    assert indigo.instances.wait_until("copy1", "Stopped", poll=1).os_id == 22
    catalog = indigo.catalog
    assert next(t.name for t in catalog.types()) == "instance"
    assert next(c.name for c in catalog.os_categories()) == "Ubuntu"
    assert {p.resource for p in catalog.plans(os="WindowsServer2022")} >= {"2CR1GB"}
    assert catalog.regions()[0].name == "Tokyo"


def test_both_faces_document_every_method(places: Places) -> None:
    """Each resource method is written once: the sync face returns results, the async face
    is a coroutine function, and both carry the one docstring and signature."""
    sync = Indigo("k", "s", ENDPOINT, places=places, transport=lambda h: Reply(200, {}, b"[]"))

    async def answer(h: Http) -> Reply:
        return Reply(200, {}, b"[]")

    faces = (sync, AsyncIndigo("k", "s", ENDPOINT, places=places, transport=answer))
    resources = ["apikeys", "sshkeys", "catalog", "instances", "firewalls", "snapshots"]
    documented = 0
    for name in resources:
        methods = [m for m in vars(type(getattr(sync, name))) if not m.startswith("_")]
        for method in methods:
            sync_face, async_face = (getattr(getattr(f, name), method) for f in faces)
            assert sync_face.__doc__ and sync_face.__doc__ == async_face.__doc__, method
            assert inspect.signature(sync_face) == inspect.signature(async_face), method
            assert not inspect.iscoroutinefunction(sync_face)
            assert inspect.iscoroutinefunction(async_face)
            documented += 1
    assert documented == 44
    assert sync.token.__doc__ and sync.token.__doc__ == faces[1].token.__doc__
    assert list(inspect.signature(sync.instances.get).parameters) == ["ref"]
