"""Instances in the panel: creation, live status, power commands, isolation. The panel
calls the same domain services as the API, so both always tell the same story."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from aiiro.engine.worker import Engine
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
    # A message about the installation under way, which the page drops once it is over.
    flash = '<div class="flash flash-ok" role="status" data-while-busy>インスタンス「web1」を作成中'
    assert flash in page.text
    from aiiro.domain import instances
    from tests.web.conftest import account_id_of

    with rt.db.read() as s:
        [listed] = instances.listed(s, account_id_of(rt, "alice@example.com"))
    assert (listed.id, listed.name, listed.os_id, listed.plan_id) == (instance_id, "web1", 22, 1)


def test_create_refusals_show_the_indigo_message_and_keep_the_form(alice_web: Visitor) -> None:
    r = create(alice_web, name="no-key")  # a Linux image needs an SSH key
    assert r.status_code == 400
    assert "SSH鍵を指定してください。" in r.text and "A4001" in r.text
    assert 'value="no-key"' in r.text
    r = create(
        alice_web, name="win", osId=WINDOWS2022, instancePlan=LINUX_PLAN, winPassword="Aa1!aaaa"
    )
    assert r.status_code == 400
    assert "このプランは選んだ OS またはリージョンでは利用できません。" in r.text
    r = create(alice_web, name="imp", source="import", importUrl="")
    assert "インポートURLを入力してください。" in r.text and "A4011" in r.text
    r = create(alice_web, name="imp", source="import", importUrl="file:///etc/passwd")
    assert "インポートURLの値が正しくありません。" in r.text and "A4002" in r.text


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
    assert "インスタンスは既に起動しています。" in page.text and "I10016" in page.text
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
    assert page.status_code == 404 and "インスタンスが見つかりません。" in page.text
    page = bob_web.follow(
        bob_web.post(f"/panel/instances/{running}/power", {"command": "forcestop"})
    )
    assert "インスタンスが見つかりません。" in page.text
    assert status(alice_web, running)["instancestatus"] == "Running"


def test_what_the_host_could_not_carry_out_shows_as_failed(
    alice_web: Visitor, running: int, rt: Any, monkeypatch: Any, engine: Engine
) -> None:
    def fail(*args: Any) -> None:
        raise RuntimeError("Failed to create file '/var/lib/libvirt/dnsmasq/aiirobr1.macs.new'")

    rt.settings.operation_max_attempts = 1
    monkeypatch.setattr(engine.driver, "reset", fail)
    alice_web.post(f"/panel/instances/{running}/power", {"command": "reset"})
    item = status(alice_web, running)
    assert (item["instancestatus"], item["state"]) == ("Running", "failed")
    assert item["label"] == "起動中 (リセットに失敗)"
    page = alice_web.get(f"/panel/instances/{running}", headers={"Accept-Language": "en"})
    assert "Running (reset failed)" in page.text
    assert "dnsmasq" not in page.text  # the reason is the operator's
    # An installation that failed says so in its status.
    monkeypatch.setattr(engine.driver, "provision", fail)
    r = create(alice_web, name="web2", sshKeyId=add_key(alice_web, "k2"))
    failed = int(r.headers["location"].rsplit("/", 1)[1])
    item = status(alice_web, failed)
    assert (item["instancestatus"], item["label"], item["state"]) == (
        "OS installation Failed",
        "OSインストール失敗",
        "failed",
    )
    assert item["allowed"] == ["destroy"]


def test_an_instance_on_a_host_that_does_not_answer_says_so(
    alice_web: Visitor, running: int, rt: Any
) -> None:
    from aiiro.store.models import Instance

    with rt.db.write() as s:  # what reconciliation does (tests/engine/test_reconcile.py)
        inst = s.get(Instance, running)
        inst.unreachable_since = rt.clock.now()
        inst.version += 1
    item = status(alice_web, running)
    assert (item["instancestatus"], item["state"]) == ("Running", "failed")
    assert item["label"] == "起動中 (ホストが応答しません)"
    page = alice_web.get(f"/panel/instances/{running}", headers={"Accept-Language": "en"})
    assert "Running (its host does not answer)" in page.text


def test_the_create_form_offers_no_key_only_where_none_is_needed(alice_web: Visitor) -> None:
    add_key(alice_web)
    page = alice_web.get("/panel/instances/new").text
    assert '<option value="" data-none>なし</option>' in page
    assert "Linux のインスタンスには SSH鍵が必要です。" in page
    # Without a key a Linux image is refused in Japanese, naming the field as the form does.
    r = create(alice_web, name="keyless", sshKeyId="")
    assert r.status_code == 400
    assert "SSH鍵を指定してください。" in r.text and "A4001" in r.text
    assert "sshKeyId" not in r.text.replace('name="sshKeyId"', "")


def test_snapshots_to_create_from_carry_the_family_of_their_os(
    alice_web: Visitor, running: int
) -> None:
    alice_web.get(f"/panel/instances/{running}")
    alice_web.post(f"/panel/instances/{running}/snapshots", {"name": "base"})
    page = alice_web.get("/panel/instances/new").text
    assert re.search(r'<option value="\d+" data-family="linux">base \(ID', page)


def test_commands_under_way_are_told_until_the_instance_settles(
    alice_web: Visitor, running: int
) -> None:
    page = alice_web.follow(
        alice_web.post(f"/panel/instances/{running}/power", {"command": "stop"})
    ).text
    assert "data-while-busy>インスタンスの停止を開始しました" in page
    alice_web.post(f"/panel/instances/{running}/power", {"command": "forcestop"})
    r = alice_web.post(f"/panel/instances/{running}/power", {"command": "destroy"})
    assert "data-while-busy" not in alice_web.follow(r).text


def test_ipv6_is_shown_as_the_cli_shows_it(alice_web: Visitor, client: Any) -> None:
    r = create(alice_web, name="v6", sshKeyId=add_key(alice_web), instancePlan="13")
    instance_id = int(r.headers["location"].rsplit("/", 1)[1])
    alice_web.get(f"/panel/instances/{instance_id}")
    alice_web.post(f"/panel/instances/{instance_id}/power", {"command": "start"})
    shown = status(alice_web, instance_id)["ip"]
    assert shown == str(ipaddress.IPv6Address(shown))  # compressed, lower case
    assert shown.startswith("2001:db8:")
    assert (
        f'<dd data-field="ip">{shown}</dd>' in alice_web.get(f"/panel/instances/{instance_id}").text
    )
    assert f'<td data-field="ip">{shown}</td>' in alice_web.get("/panel/instances").text
    # The API keeps Indigo's spelling.
    assert ipaddress.IPv6Address(shown).exploded.upper() in panel_account_api(alice_web, client)


def panel_account_api(v: Visitor, client: Any) -> str:
    """getinstancelist of the visitor's account, with an API key made in the panel."""
    page = v.post("/panel/apikeys", {}).text
    key = re.search(r'id="apikey-value" class="secret">(\w+)<', page)
    secret = re.search(r'id="apisecret-value" class="secret">(\w+)<', page)
    assert key and secret
    token = client.post(
        "/oauth/v1/accesstokens",
        json={
            "grantType": "client_credentials",
            "clientId": key.group(1),
            "clientSecret": secret.group(1),
            "code": "",
        },
    ).json()["accessToken"]
    listed = client.get(
        "/webarenaIndigo/v1/vm/getinstancelist", headers={"Authorization": f"Bearer {token}"}
    )
    return str(listed.text)
