"""API鍵の管理 in the panel: the key and secret shown once, usable at once by the API."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import Visitor


def created_pair(html: str) -> tuple[str, str]:
    key = re.search(r'id="apikey-value" class="secret">([^<]+)<', html)
    secret = re.search(r'id="apisecret-value" class="secret">([^<]+)<', html)
    assert key and secret
    return key.group(1), secret.group(1)


def test_create_shows_the_secret_once_and_it_works_with_the_api(
    alice_web: Visitor, client: Any
) -> None:
    alice_web.get("/panel/apikeys")
    r = alice_web.post("/panel/apikeys")
    assert r.status_code == 201
    assert r.headers["cache-control"] == "no-store"
    key, secret = created_pair(r.text)
    assert f"export IndigoApiKey={key}" in r.text
    assert f"export IndigoApiPrivateKey={secret}" in r.text
    assert "export AIIRO_ENDPOINT=http://aiiro.test\n" in r.text  # the CLI goes here
    assert "chmod 600 ~/.webarena_secret" in r.text

    token = client.post(
        "/oauth/v1/accesstokens",
        json={"grantType": "client_credentials", "clientId": key, "clientSecret": secret},
    )
    assert token.status_code == 201
    listed = client.get(
        "/webarenaIndigo/v1/auth/apikey",
        headers={"Authorization": f"Bearer {token.json()['accessToken']}"},
    ).json()
    assert [k["apiKey"] for k in listed["accesstokens"]] == [key]

    page = alice_web.get("/panel/apikeys")
    assert key in page.text
    assert secret not in page.text


def test_delete_revokes_the_key(alice_web: Visitor, client: Any) -> None:
    alice_web.get("/panel/apikeys")
    key, secret = created_pair(alice_web.post("/panel/apikeys").text)
    key_id = re.search(r'data-apikey-id="(\d+)"', alice_web.get("/panel/apikeys").text)
    assert key_id
    r = alice_web.post(f"/panel/apikeys/{key_id.group(1)}/delete")
    page = alice_web.follow(r)
    assert "API鍵を削除しました。" in page.text
    assert key not in page.text
    token = client.post(
        "/oauth/v1/accesstokens",
        json={"grantType": "client_credentials", "clientId": key, "clientSecret": secret},
    )
    assert token.status_code == 401


def test_keys_made_through_the_api_show_in_the_panel(alice_web: Visitor, rt: Any) -> None:
    from aiiro.domain import accounts
    from tests.web.conftest import account_id_of

    with rt.db.write() as s:
        made = accounts.create_api_key(rt, s, account_id_of(rt, "alice@example.com"))
    assert made.api_key in alice_web.get("/panel/apikeys").text
