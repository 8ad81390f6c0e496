"""Instances in the panel: creation, live status, power commands, isolation. The panel
calls the same domain services as the API, so both always tell the same story."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import (
    LINUX_PLAN,
    WINDOWS2022,
    WINDOWS_PLAN,
    Visitor,
    add_key,
    create,
    status,
)


def test_the_create_form_offers_the_catalogue(alice_web: Visitor) -> None:
    page = alice_web.get("/panel/instances/new")
    assert page.status_code == 200
    assert 'data-family="windows"' in page.text and "Windows Server 2022 (no-RDS)" in page.text
    assert "Debian 12" in page.text and "1CR768MB" in page.text
    assert "MicroVPS" in page.text  # listed, but without regions it cannot be chosen
    assert re.search(r'<option value="2" disabled>MicroVPS', page.text)


def test_create_then_the_api_lists_the_same_instance(alice_web: Visitor, rt: Any) -> None:
    r = create(alice_web, sshKeyId=add_key(alice_web))
    assert r.status_code == 303
    instance_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = alice_web.follow(r)
    assert "インスタンス「web1」を作成中です。" in page.text
    from aiiro.domain import instances
    from tests.web.conftest import account_id_of

    with rt.db.read() as s:
        [listed] = instances.listed(s, account_id_of(rt, "alice@example.com"))
    assert (listed.id, listed.name, listed.os_id, listed.plan_id) == (instance_id, "web1", 22, 1)


def test_create_refusals_show_the_indigo_message_and_keep_the_form(alice_web: Visitor) -> None:
    r = create(alice_web, name="no-key")  # a Linux image needs an SSH key
    assert r.status_code == 400
    assert "The sshKeyId field is required." in r.text
    assert 'value="no-key"' in r.text
    r = create(
        alice_web, name="win", osId=WINDOWS2022, instancePlan=LINUX_PLAN, winPassword="Aa1!aaaa"
    )
    assert r.status_code == 400
    assert "The instance plan is not offered for this OS." in r.text
    r = create(alice_web, name="imp", source="import", importUrl="")
    assert "Import ULR required" in r.text  # sic, the real service's words


def test_windows_and_import_variants(alice_web: Visitor) -> None:
    r = create(
        alice_web,
        name="win",
        osId=WINDOWS2022,
        instancePlan=WINDOWS_PLAN,
        winPassword="Str0ng!Pass",
    )
    assert r.status_code == 303, r.text
    r = create(
        alice_web, name="imp", source="import", importUrl="https://images.example.com/a.qcow2"
    )
    assert r.status_code == 303, r.text
    names = alice_web.get("/panel/instances").text
    assert "win" in names and "imp" in names


def test_live_status_follows_the_lifecycle(alice_web: Visitor, running: int) -> None:
    item = status(alice_web, running)
    assert item["instancestatus"] == "Running"
    assert item["label"] == "起動中"
    assert item["state"] == "running"
    assert item["allowed"] == ["stop", "forcestop", "reset"]
    assert item["ip"]
    alice_web.post(f"/panel/instances/{running}/power", {"command": "forcestop"})
    item = status(alice_web, running)
    assert (item["instancestatus"], item["allowed"]) == ("Stopped", ["start", "destroy"])


def test_the_list_page_polls_the_status(alice_web: Visitor, running: int) -> None:
    page = alice_web.get("/panel/instances")
    assert 'data-poll="/panel/instances/status.json"' in page.text
    assert f'data-instance-id="{running}"' in page.text


def test_commands_answer_with_the_indigo_rules(alice_web: Visitor, running: int) -> None:
    page = alice_web.follow(
        alice_web.post(f"/panel/instances/{running}/power", {"command": "start"})
    )
    assert "This instance is already running." in page.text and "I10016" in page.text
    page = alice_web.follow(
        alice_web.post(f"/panel/instances/{running}/power", {"command": "destroy"})
    )
    assert "I10055" in page.text
    page = alice_web.follow(
        alice_web.post(f"/panel/instances/{running}/power", {"command": "stop"})
    )
    assert "インスタンスの停止を開始しました" in page.text
    r = alice_web.post(f"/panel/instances/{running}/power", {"command": "destroy"})
    assert r.headers["location"] == "/panel/instances"
    assert "インスタンスが正常に廃止されました。" in alice_web.follow(r).text


def test_an_unknown_command_is_refused(alice_web: Visitor, running: int) -> None:
    page = alice_web.post(f"/panel/instances/{running}/power", {"command": "explode"})
    assert page.status_code == 400
    assert "不明な操作です。" in page.text


def test_the_instance_page_shows_address_plan_and_buttons(alice_web: Visitor, running: int) -> None:
    page = alice_web.get(f"/panel/instances/{running}", headers={"Accept-Language": "en"})
    item = status(alice_web, running)
    assert item["ip"] in page.text
    assert "Memory1GB,1vCPU,SSD20GB (1CR1GB)" in page.text
    assert "Debian 12" in page.text and "Tokyo" in page.text
    assert re.search(r'data-command="start"[^>]*disabled', page.text)
    assert not re.search(r'data-command="stop"[^>]*disabled', page.text)
    assert 'data-confirm="Delete this instance? This cannot be undone."' in page.text


def test_another_account_cannot_see_or_touch_the_instance(
    alice_web: Visitor, bob_web: Visitor, running: int
) -> None:
    assert bob_web.get("/panel/instances/status.json").json() == {"instances": []}
    assert f'data-instance-id="{running}"' not in bob_web.get("/panel/instances").text
    page = bob_web.get(f"/panel/instances/{running}")
    assert page.status_code == 404 and "Instance not found." in page.text
    page = bob_web.follow(
        bob_web.post(f"/panel/instances/{running}/power", {"command": "forcestop"})
    )
    assert "Instance not found." in page.text
    assert status(alice_web, running)["instancestatus"] == "Running"


def test_what_the_host_could_not_carry_out_shows_as_failed(
    alice_web: Visitor, running: int, rt: Any, monkeypatch: Any
) -> None:
    from aiiro.engine.worker import engine_of

    def fail(*args: Any) -> None:
        raise RuntimeError("Failed to create file '/var/lib/libvirt/dnsmasq/aiirobr1.macs.new'")

    rt.settings.operation_max_attempts = 1
    monkeypatch.setattr(engine_of(rt).driver, "reset", fail)
    alice_web.post(f"/panel/instances/{running}/power", {"command": "reset"})
    item = status(alice_web, running)
    assert (item["instancestatus"], item["state"]) == ("Running", "failed")
    assert item["label"] == "起動中 (リセットに失敗)"
    page = alice_web.get(f"/panel/instances/{running}", headers={"Accept-Language": "en"})
    assert "Running (reset failed)" in page.text
    assert "dnsmasq" not in page.text  # the reason is the operator's
    # An installation that failed says so in its status.
    monkeypatch.setattr(engine_of(rt).driver, "provision", fail)
    r = create(alice_web, name="web2", sshKeyId=add_key(alice_web, "k2"))
    failed = int(r.headers["location"].rsplit("/", 1)[1])
    item = status(alice_web, failed)
    assert (item["instancestatus"], item["label"], item["state"]) == (
        "OS installation Failed",
        "OSインストール失敗",
        "failed",
    )
    assert item["allowed"] == ["destroy"]
