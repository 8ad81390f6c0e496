"""Snapshots in the panel, and the restore that hangs at GRUB, cured from the panel."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import Visitor
from tests.web.test_console import read_until


def power(v: Visitor, instance_id: int, command: str) -> str:
    return v.follow(v.post(f"/panel/instances/{instance_id}/power", {"command": command})).text


def take(v: Visitor, instance_id: int, name: str) -> int:
    v.get(f"/panel/instances/{instance_id}")
    page = v.follow(v.post(f"/panel/instances/{instance_id}/snapshots", {"name": name}))
    assert "スナップショットを作成しています。" in page.text, page.text
    ids = re.findall(r'data-snapshot-id="(\d+)"', v.get(f"/panel/instances/{instance_id}").text)
    return int(ids[-1])


def test_take_on_a_running_instance_then_restore_only_when_stopped(
    alice_web: Visitor, running: int
) -> None:
    snap = take(alice_web, running, "before-upgrade")
    page = alice_web.get(f"/panel/instances/{running}")
    assert "before-upgrade" in page.text and "作成済み" in page.text
    base = f"/panel/instances/{running}/snapshots/{snap}"
    r = alice_web.post(f"{base}/restore")
    # Back to the snapshot card, where the refusal is shown next to the button.
    assert r.headers["location"] == f"/panel/instances/{running}#snapshots"
    page = alice_web.follow(r)
    card = page.text[page.text.index('id="snapshots"') : page.text.index('id="console-title"')]
    assert "スナップショットを復元する前にインスタンスを停止してください。" in card
    assert 'role="alert"' in card
    assert page.text.count("S10002") == 1
    power(alice_web, running, "forcestop")
    page = alice_web.follow(alice_web.post(f"{base}/restore"))
    assert "スナップショットを復元しました。インスタンスを起動してください。" in page.text
    page = alice_web.follow(alice_web.post(f"{base}/delete"))
    assert "スナップショットを削除しました。" in page.text
    assert f'data-snapshot-id="{snap}"' not in page.text


def test_a_boot_stuck_at_grub_after_restore_is_cured_by_forcestop_and_start(
    alice_web: Visitor, running: int, client: Any, admin_headers: dict[str, str]
) -> None:
    snap = take(alice_web, running, "s1")
    power(alice_web, running, "forcestop")
    fault = client.post(
        "/_aiiro/faults", json={"action": "boot_stuck", "count": 1}, headers=admin_headers
    )
    assert fault.status_code in (200, 201), fault.text
    alice_web.follow(alice_web.post(f"/panel/instances/{running}/snapshots/{snap}/restore"))
    power(alice_web, running, "start")
    console = f"/panel/instances/{running}/console"
    with alice_web.websocket(console) as ws:
        assert b"grub> " in read_until(ws, b"grub> ")
    power(alice_web, running, "forcestop")
    power(alice_web, running, "start")
    alice_web.get(f"/panel/instances/{running}")
    with alice_web.websocket(console) as ws:
        assert b"web1 login: " in read_until(ws, b"web1 login: ")


def test_create_an_instance_from_a_snapshot(alice_web: Visitor, running: int) -> None:
    snap = take(alice_web, running, "golden")
    page = alice_web.get("/panel/instances/new")
    assert re.search(rf'<option value="{snap}"[^>]*>golden', page.text)
    key = re.search(r'<option value="(\d+)" selected>laptop', page.text)
    assert key
    r = alice_web.post(
        "/panel/instances",
        {
            "source": "snapshot",
            "snapshotId": str(snap),
            "instancePlan": "1",
            "sshKeyId": key.group(1),
            "instanceName": "clone",
        },
    )
    assert r.status_code == 303, r.text
    assert "clone" in alice_web.get("/panel/instances").text


def test_another_account_cannot_touch_the_snapshots(
    alice_web: Visitor, bob_web: Visitor, running: int
) -> None:
    snap = take(alice_web, running, "mine")
    bob_web.get("/panel/instances")
    for action in ("restore", "retake", "delete"):
        page = bob_web.follow(bob_web.post(f"/panel/instances/{running}/snapshots/{snap}/{action}"))
        assert "見つかりません。" in page.text, action
    page = bob_web.follow(bob_web.post(f"/panel/instances/{running}/snapshots", {"name": "x"}))
    assert "インスタンスが見つかりません。" in page.text
    assert "mine" in alice_web.get(f"/panel/instances/{running}").text
