"""Firewall templates in the panel: the rule editor, assignment, and the API's rules."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import Visitor


def editor_post(
    v: Visitor, path: str, name: str, inbound: list[tuple[str, str, str, str]], **extra: Any
) -> Any:
    body: dict[str, Any] = {"name": name, **extra}
    for field, i in (("type", 0), ("protocol", 1), ("port", 2), ("source", 3)):
        body[f"in_{field}"] = [row[i] for row in inbound] + ["Custom"] * (field == "type")
        if field != "type":
            body[f"in_{field}"] = [row[i] for row in inbound] + [""]
    body["out_type"], body["out_protocol"], body["out_port"], body["out_source"] = (
        "Custom",
        "TCP",
        "",
        "",
    )
    return v.post(path, body)


def template_id(r: Any) -> int:
    return int(r.headers["location"].rsplit("/", 1)[1])


def api_rules(alice: Any, fw_id: int) -> list[dict[str, Any]]:
    r = alice.get(f"/webarenaIndigo/v1/nw/gettemplate/{fw_id}")
    assert r.status_code == 200, r.text
    return list(r.json())


def test_create_with_the_rule_editor_and_assign(
    alice_web: Visitor, running: int, rt: Any, client: Any
) -> None:
    from aiiro.store.models import Instance

    alice_web.get("/panel/firewalls/new")
    r = editor_post(
        alice_web,
        "/panel/firewalls",
        "web",
        [("SSH", "TCP", "22", "0.0.0.0"), ("Custom", "TCP", "8080", "10.0.0.0/8")],
        instances=str(running),
    )
    assert r.status_code == 303, r.text
    fw_id = template_id(r)
    page = alice_web.follow(r)
    assert "ファイアウォールテンプレート「web」を作成しました。" in page.text
    assert 'value="8080"' in page.text and 'value="10.0.0.0/8"' in page.text
    with rt.db.read() as s:
        assert s.get(Instance, running).firewall_id == fw_id
    listing = alice_web.get("/panel/firewalls")
    assert f'href="/panel/instances/{running}">web1<' in listing.text


def test_the_api_sees_what_the_editor_saved(alice_web: Visitor, rt: Any, client: Any) -> None:
    alice_web.get("/panel/firewalls/new")
    fw_id = template_id(
        editor_post(alice_web, "/panel/firewalls", "api-view", [("HTTPS", "TCP", "", "0.0.0.0")])
    )
    # The panel account's API view of the same template (a key made for it).
    from aiiro.domain import accounts
    from tests.web.conftest import account_id_of

    with rt.db.write() as s:
        key = accounts.create_api_key(rt, s, account_id_of(rt, "alice@example.com"))
    token = client.post(
        "/oauth/v1/accesstokens",
        json={
            "grantType": "client_credentials",
            "clientId": key.api_key,
            "clientSecret": key.api_secret,
        },
    ).json()["accessToken"]
    got = client.get(
        f"/webarenaIndigo/v1/nw/gettemplate/{fw_id}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert got == [
        {
            "id": fw_id,
            "name": "api-view",
            "direction": "in",
            "type": "HTTPS",
            "protocol": "TCP",
            "port": "443",
            "source": "0.0.0.0",
        }
    ]


def test_a_bad_rule_shows_the_indigo_message_and_keeps_the_input(alice_web: Visitor) -> None:
    alice_web.get("/panel/firewalls/new")
    r = editor_post(alice_web, "/panel/firewalls", "bad", [("Custom", "TCP", "99999", "0.0.0.0")])
    assert r.status_code == 400
    # The Japanese panel says it in Japanese and quotes the API's words for the detail.
    assert (
        "ファイアウォールのルールが正しくありません(Invalid firewall rule inbound[0]: port"
        in r.text
    )
    assert "A4020" in r.text
    assert 'value="99999"' in r.text and 'value="bad"' in r.text


def test_update_replaces_the_rules(alice_web: Visitor) -> None:
    alice_web.get("/panel/firewalls/new")
    fw_id = template_id(
        editor_post(alice_web, "/panel/firewalls", "x", [("HTTP", "TCP", "", "0.0.0.0")])
    )
    alice_web.get(f"/panel/firewalls/{fw_id}")
    r = editor_post(
        alice_web, f"/panel/firewalls/{fw_id}", "x2", [("ICMP", "ICMP", "", "192.0.2.1")]
    )
    page = alice_web.follow(r)
    assert "ファイアウォールテンプレートを更新しました。" in page.text
    assert 'value="192.0.2.1"' in page.text and 'value="x2"' in page.text
    assert not re.search(r'<option value="HTTP" selected>', page.text)


def test_a_template_on_an_active_instance_cannot_be_deleted(
    alice_web: Visitor, running: int
) -> None:
    alice_web.get("/panel/firewalls/new")
    fw_id = template_id(
        editor_post(alice_web, "/panel/firewalls", "held", [("SSH", "TCP", "", "0.0.0.0")])
    )
    alice_web.get(f"/panel/instances/{running}")
    r = alice_web.post(f"/panel/instances/{running}/firewall", {"templateid": str(fw_id)})
    assert r.headers["location"] == f"/panel/instances/{running}#firewall"
    page = alice_web.follow(r)
    card = page.text[page.text.index('id="firewall"') : page.text.index('id="snapshots"')]
    assert "ファイアウォールテンプレートを割り当てました。" in card
    assert f'href="/panel/firewalls/{fw_id}">held<' in page.text
    page = alice_web.follow(alice_web.post(f"/panel/firewalls/{fw_id}/delete"))
    assert (
        "このファイアウォールテンプレートは稼働中のインスタンスに割り当てられているため削除できません。"
        in page.text
    )
    assert "F60009" in page.text


def test_another_account_cannot_see_or_use_the_template(
    alice_web: Visitor, bob_web: Visitor, running: int
) -> None:
    alice_web.get("/panel/firewalls/new")
    fw_id = template_id(
        editor_post(alice_web, "/panel/firewalls", "secret-fw", [("SSH", "TCP", "", "0.0.0.0")])
    )
    assert "secret-fw" not in bob_web.get("/panel/firewalls").text
    page = bob_web.get(f"/panel/firewalls/{fw_id}")
    assert page.status_code == 404 and "ファイアウォールテンプレートが見つかりません。" in page.text
    page = bob_web.follow(bob_web.post(f"/panel/firewalls/{fw_id}/delete"))
    assert "ファイアウォールテンプレートが見つかりません。" in page.text
    page = bob_web.follow(
        bob_web.post(f"/panel/instances/{running}/firewall", {"templateid": str(fw_id)})
    )
    assert "見つかりません" in page.text
    assert "secret-fw" in alice_web.get("/panel/firewalls").text
