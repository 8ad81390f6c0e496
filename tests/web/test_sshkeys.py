"""SSH keys in the panel: the API's rules and messages (I10034), deactivate, delete."""

from __future__ import annotations

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


def test_a_key_the_api_refuses_is_refused_with_the_indigo_message(alice_web: Visitor) -> None:
    alice_web.get("/panel/sshkeys")
    page = alice_web.follow(
        alice_web.post("/panel/sshkeys", {"name": "new", "sshkey": ed25519_public()})
    )
    assert "Invalid SSH key." in page.text
    assert "I10034" in page.text
    assert key_ids(page.text) == []
    page = alice_web.follow(alice_web.post("/panel/sshkeys", {"name": "", "sshkey": rsa_public()}))
    assert "The sshName field must not be empty." in page.text


def test_a_bad_status_value_gets_the_api_message(alice_web: Visitor) -> None:
    alice_web.get("/panel/sshkeys")
    page = alice_web.follow(alice_web.post("/panel/sshkeys", {"name": "k", "sshkey": rsa_public()}))
    [key_id] = key_ids(page.text)
    page = alice_web.follow(alice_web.post(f"/panel/sshkeys/{key_id}/status", {"status": "ON"}))
    assert "The sshKeyStatus field must be ACTIVE or DEACTIVE." in page.text


def test_the_flash_is_shown_once(alice_web: Visitor) -> None:
    alice_web.get("/panel/sshkeys")
    page = alice_web.follow(
        alice_web.post("/panel/sshkeys", {"name": "once", "sshkey": rsa_public()})
    )
    assert "SSH鍵「once」を登録しました。" in page.text
    assert "SSH鍵「once」を登録しました。" not in alice_web.get("/panel/sshkeys").text
