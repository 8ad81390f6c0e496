"""Another account sees none of it: the panel answers for foreign ids as the API does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from aiiro.store.models import ApiKey, SshKey
from tests.api.keygen import rsa_public
from tests.web.conftest import Visitor, account_id_of


def test_keys_of_one_account_are_invisible_and_untouchable_for_another(
    alice_web: Visitor, bob_web: Visitor, rt: Any
) -> None:
    alice_web.get("/panel/apikeys")
    created = alice_web.post("/panel/apikeys")
    assert created.status_code == 201
    alice_web.get("/panel/sshkeys")
    alice_web.post("/panel/sshkeys", {"name": "alice-laptop", "sshkey": rsa_public()})
    alice = account_id_of(rt, "alice@example.com")
    with rt.db.read() as s:
        key = s.scalars(select(ApiKey).where(ApiKey.account_id == alice)).one()
        ssh = s.scalars(select(SshKey).where(SshKey.account_id == alice)).one()

    for path in ("/panel/apikeys", "/panel/sshkeys"):
        page = bob_web.get(path)
        assert key.api_key not in page.text
        assert "alice-laptop" not in page.text

    r = bob_web.post(f"/panel/apikeys/{key.id}/delete")
    assert r.status_code == 303
    assert "API鍵が見つかりません。" in bob_web.follow(r).text
    r = bob_web.post(f"/panel/sshkeys/{ssh.id}/delete")
    assert "SSH鍵が見つかりません。" in bob_web.follow(r).text
    r = bob_web.post(f"/panel/sshkeys/{ssh.id}/status", {"status": "DEACTIVE"})
    assert "SSH鍵が見つかりません。" in bob_web.follow(r).text

    with rt.db.read() as s:
        assert s.get(ApiKey, key.id) is not None
        still = s.get(SshKey, ssh.id)
        assert still is not None and still.status == "ACTIVE"
