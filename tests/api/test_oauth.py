from __future__ import annotations

import json
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from aiiro.runtime import Runtime
from tests.conftest import Account


def token_request(client: TestClient, key: str, secret: str) -> object:
    return client.post(
        "/oauth/v1/accesstokens",
        json={
            "grantType": "client_credentials",
            "clientId": key,
            "clientSecret": secret,
            "code": "",
        },
    )


def test_token_body_has_the_observed_bytes(client: TestClient, alice: Account) -> None:
    r = token_request(client, alice.api_key, alice.api_secret)
    assert r.status_code == 201
    m = re.fullmatch(
        r'\{"accessToken": "([A-Za-z0-9]{28})", "tokenType": "BearerToken", '
        r'"expiresIn": "3599" , "scope": "" , "issuedAt": "(\d{13})"\}',
        r.text,
    )
    assert m, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["access-control-allow-origin"] == "*"
    assert "severity" not in r.headers  # backend-only header


def test_bad_secret_is_a_gateway_401(client: TestClient, alice: Account) -> None:
    r = token_request(client, alice.api_key, "wrong")
    assert r.status_code == 401
    body = r.json()
    assert list(body) == ["errorCode", "errorMessage", "developerMessage", "moreInfo", "requestId"]
    assert body["errorCode"] == "401"
    assert body["errorMessage"] == "Invalid client credentials."
    assert body["requestId"] == r.headers["x-request-id"]


def test_backend_needs_a_bearer_token(client: TestClient, alice: Account) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": alice.token}):
        r = client.get("/webarenaIndigo/v1/vm/sshkey", headers=headers)
        assert r.status_code == 401
        assert r.json()["errorMessage"] == "Invalid access token."
    assert alice.get("/webarenaIndigo/v1/vm/sshkey").status_code == 200


TOKEN_URL = "/oauth/v1/accesstokens"
SSHKEYS = "/webarenaIndigo/v1/vm/sshkey"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_body_is_140_bytes_like_the_capture(client: TestClient, alice: Account) -> None:
    r = token_request(client, alice.api_key, alice.api_secret)
    assert r.headers["content-length"] == "140" == str(len(r.content))


def test_issued_at_is_the_server_clock_in_ms(
    client: TestClient, alice: Account, rt: Runtime
) -> None:
    rt.clock.advance(1800)
    before = int(rt.clock.time() * 1000)
    issued = int(token_request(client, alice.api_key, alice.api_secret).json()["issuedAt"])
    assert before <= issued <= int(rt.clock.time() * 1000)


def test_a_token_expires_after_3599_seconds_of_server_time(
    client: TestClient, alice: Account, rt: Runtime
) -> None:
    rt.clock.advance(3590)
    assert alice.get(SSHKEYS).status_code == 200
    rt.clock.advance(10)
    r = alice.get(SSHKEYS)
    assert r.status_code == 401
    assert r.json()["errorMessage"] == "Invalid access token."
    # The key itself still works: a new token is issued.
    fresh = token_request(client, alice.api_key, alice.api_secret).json()["accessToken"]
    assert client.get(SSHKEYS, headers=bearer(fresh)).status_code == 200


def test_token_expiry_over_an_hour(client: TestClient, alice: Account, rt: Runtime) -> None:
    rt.clock.advance(3600)
    assert alice.get(SSHKEYS).status_code == 401


def test_a_token_request_without_content_type_is_read_as_json(
    client: TestClient, alice: Account
) -> None:
    body = json.dumps(
        {"grantType": "client_credentials", "clientId": alice.api_key,
         "clientSecret": alice.api_secret, "code": ""}
    )  # fmt: skip
    r = client.post(TOKEN_URL, content=body)
    assert r.status_code == 201
    r = client.post(
        TOKEN_URL, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 201


@pytest.mark.parametrize("style", ["oauth", "indigo"])
def test_a_form_encoded_token_request_works(client: TestClient, alice: Account, style: str) -> None:
    if style == "oauth":
        form = {"grant_type": "client_credentials", "client_id": alice.api_key,
                "client_secret": alice.api_secret}  # fmt: skip
    else:
        form = {"grantType": "client_credentials", "clientId": alice.api_key,
                "clientSecret": alice.api_secret}  # fmt: skip
    r = client.post(TOKEN_URL, data=form)
    assert r.status_code == 201
    assert client.get(SSHKEYS, headers=bearer(r.json()["accessToken"])).status_code == 200


def test_grant_type_may_be_left_out(client: TestClient, alice: Account) -> None:
    r = client.post(TOKEN_URL, json={"clientId": alice.api_key, "clientSecret": alice.api_secret})
    assert r.status_code == 201


def gateway_body(r: Any) -> dict[str, Any]:
    body: dict[str, Any] = r.json()
    assert list(body) == ["errorCode", "errorMessage", "developerMessage", "moreInfo", "requestId"]
    assert body["errorCode"] == str(r.status_code)
    assert body["moreInfo"] is None
    assert body["requestId"] == r.headers["x-request-id"]
    # The gateway's own spacing, not the backend's compact JSON.
    assert r.text.startswith(f'{{"errorCode": "{r.status_code}", "errorMessage": ')
    return body


@pytest.mark.parametrize(
    "body",
    [
        {"grantType": "client_credentials", "clientId": "nobody", "clientSecret": "x"},
        {"grantType": "client_credentials", "clientSecret": "x"},
        {"grantType": "client_credentials", "clientId": "x"},
        {"grantType": "client_credentials", "clientId": 5, "clientSecret": 6},
        {},
    ],
)
def test_bad_or_missing_credentials_are_401(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post(TOKEN_URL, json=body)
    assert r.status_code == 401
    assert gateway_body(r)["errorMessage"] == "Invalid client credentials."


def test_an_unsupported_grant_type_is_400(client: TestClient, alice: Account) -> None:
    r = client.post(
        TOKEN_URL,
        json={"grantType": "password", "clientId": alice.api_key, "clientSecret": alice.api_secret},
    )
    assert r.status_code == 400
    assert gateway_body(r)["errorMessage"] == "Unsupported grant type."


@pytest.mark.parametrize(
    "raw",
    [
        "{",
        "[1, 2]",
        "not a body",
        "\xff\xfe",
        # A NUL, which no PostgreSQL text can hold (the lookup of the key used to fail).
        '{"clientId": "a\\u0000", "clientSecret": "x"}',
        "clientId=a%00&clientSecret=x",
    ],
)
def test_an_unreadable_token_request_is_400(client: TestClient, raw: str) -> None:
    r = client.post(TOKEN_URL, content=raw.encode("latin-1"))
    assert r.status_code == 400
    assert gateway_body(r)["errorMessage"] == "Invalid request body."


def test_a_401_on_the_backend_is_the_gateways(client: TestClient) -> None:
    r = client.get(SSHKEYS, headers=bearer("A" * 28))
    assert r.status_code == 401
    body = gateway_body(r)
    assert body["errorMessage"] == "Invalid access token."
    assert r.headers["access-control-allow-origin"] == "*"
    assert "severity" not in r.headers and "vary" not in r.headers


def test_the_bearer_scheme_is_case_insensitive(client: TestClient, alice: Account) -> None:
    r = client.get(SSHKEYS, headers={"Authorization": f"bearer {alice.token}"})
    assert r.status_code == 200


def test_a_disabled_account_loses_its_tokens_and_gets_no_new_ones(
    client: TestClient, alice: Account, bob: Account, admin_headers: dict[str, str]
) -> None:
    r = client.post(f"/_aiiro/accounts/{alice.id}/disable", headers=admin_headers)
    assert r.status_code == 200
    assert alice.get(SSHKEYS).status_code == 401
    assert token_request(client, alice.api_key, alice.api_secret).status_code == 401
    assert bob.get(SSHKEYS).status_code == 200  # other accounts are untouched
    client.post(f"/_aiiro/accounts/{alice.id}/enable", headers=admin_headers)
    r = token_request(client, alice.api_key, alice.api_secret)
    assert r.status_code == 201
    assert client.get(SSHKEYS, headers=bearer(r.json()["accessToken"])).status_code == 200


def test_the_token_endpoint_is_POST_only(client: TestClient) -> None:
    assert client.get(TOKEN_URL).status_code == 405
