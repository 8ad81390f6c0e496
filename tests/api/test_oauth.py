from __future__ import annotations

import re

from starlette.testclient import TestClient

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
