"""The admin API under /_aiiro/: health, reset, accounts."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aiiro.bootstrap import bootstrap, check_admin_token
from aiiro.config import Settings
from aiiro.runtime import Runtime, build_runtime
from tests.api.keygen import rsa_public
from tests.conftest import Account

ADMIN = "/_aiiro"


def token_status(client: TestClient, key: str, secret: str) -> int:
    r = client.post(
        "/oauth/v1/accesstokens",
        json={"grantType": "client_credentials", "clientId": key, "clientSecret": secret},
    )
    return r.status_code


def test_health_needs_no_token(client: TestClient) -> None:
    r = client.get(f"{ADMIN}/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert (body["driver"], body["profile"], body["quota"]) == ("sim", "instant", False)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/reset"),
        ("GET", "/accounts"),
        ("POST", "/accounts"),
        ("POST", "/accounts/1/disable"),
        ("POST", "/accounts/1/enable"),
        ("POST", "/accounts/1/apikeys"),
    ],
)
def test_admin_calls_need_the_admin_token(
    client: TestClient, alice: Account, method: str, path: str
) -> None:
    for auth in (None, "Bearer wrong", "test-admin-token", "Basic x", alice.auth["Authorization"]):
        headers = {"Authorization": auth} if auth else {}
        r = client.request(method, f"{ADMIN}{path}", headers=headers, json={"name": "x"})
        assert r.status_code == 401, auth
        assert r.json() == {
            "success": False,
            "errorMessage": "The admin token is missing or wrong.",
            "errorCode": "A4101",
        }


def test_create_list_disable_enable_an_account(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    r = client.post(
        f"{ADMIN}/accounts", json={"name": "Carol", "email": "carol@example.com"},
        headers=admin_headers,
    )  # fmt: skip
    assert r.status_code == 201
    body = r.json()
    account = body["account"]
    assert account["name"] == "Carol" and account["email"] == "carol@example.com"
    assert account["status"] == "active"
    assert account["service_id"] == f"idg-{account['id']:08d}"
    assert token_status(client, body["apiKey"], body["apiSecret"]) == 201

    listed = client.get(f"{ADMIN}/accounts", headers=admin_headers).json()
    assert [a for a in listed if a["id"] == account["id"]] == [account]
    assert all(set(a) == set(account) for a in listed)

    r = client.post(f"{ADMIN}/accounts/{account['id']}/disable", headers=admin_headers)
    assert (r.status_code, r.json()["status"]) == (200, "disabled")
    assert token_status(client, body["apiKey"], body["apiSecret"]) == 401

    r = client.post(f"{ADMIN}/accounts/{account['id']}/enable", headers=admin_headers)
    assert (r.status_code, r.json()["status"]) == (200, "active")
    assert token_status(client, body["apiKey"], body["apiSecret"]) == 201


def test_a_request_without_content_type_creates_an_account(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    r = client.post(f"{ADMIN}/accounts", content='{"name": "Dave"}', headers=admin_headers)
    assert r.status_code == 201
    assert r.json()["account"]["email"] is None


def test_an_email_is_used_once(client: TestClient, admin_headers: dict[str, str]) -> None:
    body = {"name": "Erin", "email": "erin@example.com"}
    assert client.post(f"{ADMIN}/accounts", json=body, headers=admin_headers).status_code == 201
    r = client.post(f"{ADMIN}/accounts", json=body, headers=admin_headers)
    assert r.status_code == 409
    assert r.json()["errorCode"] == "A4090"


def test_a_bad_account_body_is_400(client: TestClient, admin_headers: dict[str, str]) -> None:
    for raw, code in (("{", "A4000"), ("[]", "A4000"), ("{}", "A4001"), ('{"name": 5}', "A4002")):
        r = client.post(f"{ADMIN}/accounts", content=raw, headers=admin_headers)
        assert r.status_code == 400, raw
        assert (r.json()["success"], r.json()["errorCode"]) == (False, code)


def test_an_api_key_for_an_account(
    client: TestClient, alice: Account, admin_headers: dict[str, str]
) -> None:
    r = client.post(f"{ADMIN}/accounts/{alice.id}/apikeys", headers=admin_headers)
    assert r.status_code == 201
    key = r.json()
    assert list(key) == ["id", "accountId", "apiKey", "apiSecret"]
    assert key["accountId"] == alice.id
    assert token_status(client, key["apiKey"], key["apiSecret"]) == 201
    listed = alice.get("/webarenaIndigo/v1/auth/apikey").json()["accesstokens"]
    assert key["apiKey"] in [k["apiKey"] for k in listed]


def test_unknown_accounts_are_404(client: TestClient, admin_headers: dict[str, str]) -> None:
    for account_id in ("424242", "abc", "-1"):
        for action in ("disable", "enable", "apikeys"):
            r = client.post(f"{ADMIN}/accounts/{account_id}/{action}", headers=admin_headers)
            assert r.status_code == 404, (account_id, action)
            assert r.json()["errorCode"] == "A4046"


def test_reset_forgets_resources_but_keeps_accounts_keys_and_tokens(
    client: TestClient, alice: Account, admin_headers: dict[str, str]
) -> None:
    alice.post("/webarenaIndigo/v1/vm/sshkey", {"sshName": "k", "sshKey": rsa_public()})
    assert alice.get("/webarenaIndigo/v1/vm/sshkey").json()["total"] == 1
    r = client.post(f"{ADMIN}/reset", headers=admin_headers)
    assert r.status_code == 200
    assert r.json()["success"] is True
    assert alice.get("/webarenaIndigo/v1/vm/sshkey").json() == {
        "success": True,
        "total": 0,
        "sshkeys": [],
    }
    assert token_status(client, alice.api_key, alice.api_secret) == 201


def test_reset_clears_the_quota(
    client: TestClient, alice: Account, rt: Runtime, admin_headers: dict[str, str]
) -> None:
    client.put(f"{ADMIN}/profile", json={"quota": True}, headers=admin_headers)
    rt.clock.advance(61 - rt.clock.time() % 60)
    for _ in range(7):
        alice.get("/webarenaIndigo/v1/vm/sshkey")
    assert alice.get("/webarenaIndigo/v1/vm/sshkey").status_code == 429
    client.post(f"{ADMIN}/reset", headers=admin_headers)
    assert alice.get("/webarenaIndigo/v1/vm/sshkey").status_code == 200


def test_a_generated_admin_token_is_shown_once_and_works(tmp_path: Path, database_url: str) -> None:
    rt = build_runtime(Settings(data_dir=tmp_path, database_url=database_url))
    try:
        first = bootstrap(rt)
        assert first.admin_token is not None and len(first.admin_token) >= 32
        assert check_admin_token(rt, first.admin_token)
        assert not check_admin_token(rt, "")
        assert not check_admin_token(rt, first.admin_token + "x")
        again = bootstrap(rt)
        assert again.admin_token is None  # kept hashed; never shown again
        assert again.first_account_id == first.first_account_id
        assert again.new_key is None
        assert check_admin_token(rt, first.admin_token)
    finally:
        rt.db.dispose()


def test_a_configured_admin_token_wins(tmp_path: Path, database_url: str) -> None:
    rt = build_runtime(
        Settings(
            data_dir=tmp_path,
            database_url=database_url,
            admin_token="configured-secret",
        )
    )
    try:
        assert bootstrap(rt).admin_token is None
        assert check_admin_token(rt, "configured-secret")
        assert not check_admin_token(rt, "")
    finally:
        rt.db.dispose()
