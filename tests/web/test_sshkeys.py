"""SSH keys in the panel: the API's rules and messages (I10034), deactivate, delete."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.api.keygen import ed25519_public, rsa_public
from tests.web.conftest import Visitor


def key_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-sshkey-id="(\d+)"', html)]


def test_add_deactivate_activate_delete(alice_web: Visitor, alice: Any) -> None:
    alice_web.get("/panel/sshkeys")
    r = alice_web.post("/panel/sshkeys", {"name": "laptop", "sshkey": rsa_public()})
    page = alice_web.follow(r)
    assert "SSH鍵「laptop」を登録しました。" in page.text
    [key_id] = key_ids(page.text)

    page = alice_web.follow(
        alice_web.post(f"/panel/sshkeys/{key_id}/status", {"status": "DEACTIVE"})
    )
    assert "badge-deactive" in page.text
    page = alice_web.follow(alice_web.post(f"/panel/sshkeys/{key_id}/status", {"status": "ACTIVE"}))
    assert "badge-active" in page.text
    page = alice_web.follow(alice_web.post(f"/panel/sshkeys/{key_id}/delete"))
    assert key_ids(page.text) == []


def stored_keys(rt: Any) -> list[str]:
    from sqlalchemy import select

    from aiiro.store.models import SshKey

    with rt.db.read() as s:
        return list(s.scalars(select(SshKey.sshkey).order_by(SshKey.id)))


def test_a_key_the_api_refuses_is_explained_next_to_the_form_which_keeps_it(
    alice_web: Visitor,
) -> None:
    alice_web.get("/panel/sshkeys")
    refused = ed25519_public()
    r = alice_web.post("/panel/sshkeys", {"name": "new", "sshkey": refused})
    assert r.status_code == 400
    form = r.text[r.text.index('id="add-sshkey"') :]
    assert form.index("SSH鍵が正しくありません。") < form.index("<form")
    assert "I10034" in form
    assert 'value="new"' in form and f">{refused}</textarea>" in form
    assert key_ids(r.text) == []
    r = alice_web.post("/panel/sshkeys", {"name": "  ", "sshkey": rsa_public()})
    assert r.status_code == 400
    assert "SSH鍵の名前の値が正しくありません。" in r.text and "A4002" in r.text


def test_the_english_panel_keeps_the_indigo_words(alice_web: Visitor) -> None:
    alice_web.get("/panel/lang/en")
    alice_web.get("/panel/sshkeys")
    r = alice_web.post("/panel/sshkeys", {"name": "new", "sshkey": ed25519_public()})
    assert "Invalid SSH key." in r.text and "I10034" in r.text


def test_the_usual_trailing_comment_is_taken_off_and_said_so(alice_web: Visitor, rt: Any) -> None:
    alice_web.get("/panel/sshkeys")
    key = rsa_public()
    page = alice_web.follow(
        alice_web.post("/panel/sshkeys", {"name": "laptop", "sshkey": f"{key} root@vm\n"})
    )
    assert (
        "SSH鍵「laptop」を登録しました。"
        "コメント「root@vm」は削除しました: Indigo はコメント付きの鍵を受け付けません。"
    ) in page.text
    assert stored_keys(rt) == [key]
    alice_web.get("/panel/lang/en")
    page = alice_web.follow(
        alice_web.post("/panel/sshkeys", {"name": "work", "sshkey": f"{key} me@work laptop"})
    )
    assert (
        'SSH key "work" was added. The comment "me@work laptop" was removed: '
        "Indigo refuses keys with a comment."
    ) in html.unescape(page.text)
    assert stored_keys(rt) == [key, key]


def test_a_server_that_keeps_comments_keeps_them(alice_web: Visitor, rt: Any) -> None:
    rt.settings.sshkey_comments = "keep"
    page = alice_web.get("/panel/sshkeys")
    assert "末尾のコメントもそのまま登録します。" in page.text
    key = rsa_public()
    page = alice_web.follow(
        alice_web.post("/panel/sshkeys", {"name": "laptop", "sshkey": f"{key} root@vm"})
    )
    assert "SSH鍵「laptop」を登録しました。<" in page.text and "削除しました" not in page.text
    assert stored_keys(rt) == [f"{key} root@vm"]


def test_a_bad_status_value_gets_the_api_message(alice_web: Visitor) -> None:
    alice_web.get("/panel/sshkeys")
    page = alice_web.follow(alice_web.post("/panel/sshkeys", {"name": "k", "sshkey": rsa_public()}))
    [key_id] = key_ids(page.text)
    page = alice_web.follow(alice_web.post(f"/panel/sshkeys/{key_id}/status", {"status": "ON"}))
    assert "SSH鍵の状態の値が正しくありません。" in page.text and "A4002" in page.text


def test_the_flash_is_shown_once(alice_web: Visitor) -> None:
    alice_web.get("/panel/sshkeys")
    page = alice_web.follow(
        alice_web.post("/panel/sshkeys", {"name": "once", "sshkey": rsa_public()})
    )
    assert "SSH鍵「once」を登録しました。" in page.text
    assert "SSH鍵「once」を登録しました。" not in alice_web.get("/panel/sshkeys").text
