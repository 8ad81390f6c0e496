"""The request log: /_aiiro/requests, secrets redacted."""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import Account

SSHKEYS = "/webarenaIndigo/v1/vm/sshkey"


def logged(client: TestClient, admin: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    r = client.get(f"/_aiiro/requests{query}", headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["requests"])
    entries: list[dict[str, Any]] = body["requests"]
    return entries


def test_requests_are_logged_with_bodies(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    client.delete("/_aiiro/requests", headers=admin_headers)
    r = alice.post(SSHKEYS, {"sshName": "", "sshKey": "ssh-rsa AAAA"})
    [entry] = logged(client, admin_headers)
    assert entry["method"] == "POST" and entry["path"] == SSHKEYS
    assert entry["status"] == r.status_code == 400
    assert entry["account_id"] == alice.id
    assert entry["request_body"] == {"sshName": "", "sshKey": "ssh-rsa AAAA"}
    assert entry["response_body"] == r.json()
    assert entry["duration_ms"] >= 0
    assert set(entry) == {
        "id",
        "at",
        "method",
        "path",
        "query",
        "status",
        "account_id",
        "api_key_id",
        "quota",
        "headers",
        "request_body",
        "response_body",
        "duration_ms",
    }


def test_secrets_are_redacted(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    client.delete("/_aiiro/requests", headers=admin_headers)
    token = client.post(
        "/oauth/v1/accesstokens",
        content=json.dumps(
            {
                "grantType": "client_credentials",
                "clientId": alice.api_key,
                "clientSecret": alice.api_secret,
                "code": "",
            }
        ),
    ).json()["accessToken"]
    new_key = alice.get("/webarenaIndigo/v1/auth/create/apikey").json()
    alice.post(
        "/webarenaIndigo/v1/vm/createinstance",
        {
            "winPassword": "Secret#12345",
            "regionId": 1,
            "osId": 7,
            "instancePlan": 7,
            "instanceName": "w",
        },
    )
    entries = logged(client, admin_headers)
    text = json.dumps(entries)
    for secret in (alice.api_secret, token, alice.token, new_key["apiSecret"], "Secret#12345"):
        assert secret not in text
    token_req, key_req, create_req = entries
    assert token_req["request_body"]["clientSecret"] == "***"
    assert token_req["request_body"]["clientId"] == alice.api_key  # not a secret
    assert token_req["response_body"]["accessToken"] == "***"
    assert key_req["response_body"]["apiSecret"] == "***"
    assert key_req["response_body"]["apiKey"] == new_key["apiKey"]
    assert key_req["headers"]["authorization"] == "Bearer ***"
    assert create_req["request_body"]["winPassword"] == "***"
    assert create_req["request_body"]["instanceName"] == "w"


def test_credentials_in_urls_are_redacted(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    client.delete("/_aiiro/requests", headers=admin_headers)
    alice.post(
        "/webarenaIndigo/v1/vm/createinstance",
        {
            "importUrl": "https://alice:s3cret@images.example.com/a.qcow2?v=1",
            "regionId": 1,
            "osId": 3,
            "instancePlan": 1,
            "instanceName": "imported",
        },
    )
    alice.get(f"{SSHKEYS}?next=https%3A%2F%2Fbob%3Ap4ss%40x.example%2F&token=t0ken&page=2")
    create_req, list_req = logged(client, admin_headers)
    assert create_req["request_body"]["importUrl"] == "https://***@images.example.com/a.qcow2?v=1"
    assert list_req["query"] == "next=https%3A%2F%2F***%40x.example%2F&token=***&page=2"
    text = json.dumps([create_req, list_req])
    for secret in ("s3cret", "p4ss", "t0ken"):
        assert secret not in text


def test_a_form_encoded_secret_is_not_echoed(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    client.delete("/_aiiro/requests", headers=admin_headers)
    secret = alice.api_secret
    form = f"grant_type=client_credentials&client_id={alice.api_key}&client_secret={secret}"
    client.post(
        "/oauth/v1/accesstokens",
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    [entry] = logged(client, admin_headers)
    assert alice.api_secret not in json.dumps(entry)
    assert entry["request_body"] == f"<{len(form)} bytes, not JSON>"


def test_filter_by_account_and_limit(
    client: TestClient, admin_headers: dict[str, str], alice: Account, bob: Account
) -> None:
    client.delete("/_aiiro/requests", headers=admin_headers)
    for _ in range(3):
        alice.get(SSHKEYS)
    bob.get("/webarenaIndigo/v1/vm/sshkey/active/status")
    alice.get("/webarenaIndigo/v1/auth/apikey")
    everything = logged(client, admin_headers)
    assert [e["account_id"] for e in everything] == [alice.id] * 3 + [bob.id, alice.id]
    assert [e["id"] for e in everything] == sorted(e["id"] for e in everything)
    assert [e["path"] for e in logged(client, admin_headers, f"?account_id={bob.id}")] == [
        "/webarenaIndigo/v1/vm/sshkey/active/status"
    ]
    last_two = logged(client, admin_headers, f"?account_id={alice.id}&limit=2")
    assert [e["path"] for e in last_two] == [SSHKEYS, "/webarenaIndigo/v1/auth/apikey"]
    assert logged(client, admin_headers, "?limit=0") == []
    r = client.get("/_aiiro/requests?limit=many", headers=admin_headers)
    assert r.status_code == 400 and r.json()["errorCode"] == "A4002"


def test_only_indigo_requests_are_logged(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    client.delete("/_aiiro/requests", headers=admin_headers)
    client.get("/_aiiro/health")
    client.get("/_aiiro/faults", headers=admin_headers)
    alice.get(SSHKEYS)
    assert [e["path"] for e in logged(client, admin_headers)] == [SSHKEYS]


def test_delete_clears_the_log(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    alice.get(SSHKEYS)
    r = client.delete("/_aiiro/requests", headers=admin_headers)
    assert r.status_code == 200 and r.json()["deleted"] >= 1
    assert logged(client, admin_headers) == []
    assert client.delete("/_aiiro/requests").status_code == 401


def test_times_are_on_the_server_clock(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    client.post("/_aiiro/clock/advance", json={"seconds": 3 * 86400}, headers=admin_headers)
    client.delete("/_aiiro/requests", headers=admin_headers)
    client.post("/oauth/v1/accesstokens", content="{}")
    [entry] = logged(client, admin_headers)
    now = client.get("/_aiiro/clock", headers=admin_headers).json()["now"]
    assert entry["at"][:13] == now[:13]  # same hour on the server clock, three days ahead


def test_a_body_the_log_cannot_show_does_not_break_reading_it(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    client.delete("/_aiiro/requests", headers=admin_headers)
    poisoned = b'{"clientId": "\\ud800", "clientSecret": "x"}'
    deep = b"[" * 5000 + b"]" * 5000
    for body in (poisoned, deep):
        assert client.post("/oauth/v1/accesstokens", content=body).status_code == 400
    entries = logged(client, admin_headers)
    assert [e["request_body"] for e in entries] == [
        f"<{len(poisoned)} bytes, not JSON>",
        f"<{len(deep)} bytes, not JSON>",
    ]


def test_a_nul_in_the_path_is_logged_as_sent(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    """PostgreSQL's text cannot hold a NUL: the log used to lose such a request, and every
    one queued with it."""
    client.delete("/_aiiro/requests", headers=admin_headers)
    assert alice.get(f"{SSHKEYS}/%00").status_code == 404
    assert alice.get(SSHKEYS).status_code == 200
    assert [e["path"] for e in logged(client, admin_headers)] == [f"{SSHKEYS}/%00", SSHKEYS]


def test_the_log_keeps_a_bounded_number_of_bytes(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    from aiiro.store.request_log import MAX_BYTES

    assert MAX_BYTES == 16 * 1024 * 1024
    for i in range(400):  # 24 MB sent, without credentials, each body different
        body = json.dumps({"clientId": f"{i:03d}" + "k" * 60_000, "clientSecret": "s"})
        client.post("/oauth/v1/accesstokens", content=body.encode())
    entries = logged(client, admin_headers, "?limit=1000")
    assert 200 < len(entries) < 400  # the oldest went
    assert entries[-1]["request_body"]["clientId"] == "399" + "k" * 60_000
    assert entries[-1]["request_body"]["clientSecret"] == "***"


def test_a_polled_answer_is_shown_whole_in_every_entry(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    """A large answer given again and again is kept once (request_log.py), and shown in
    full in each entry, also after the entries that first held it are gone."""
    from tests.api.keygen import rsa_public

    for i in range(8):
        key = rsa_public(n=i)
        assert alice.post(SSHKEYS, {"sshName": f"k{i}", "sshKey": key}).status_code == 201
    listed = alice.get(SSHKEYS)
    assert len(listed.content) > 2048
    client.delete("/_aiiro/requests", headers=admin_headers)
    for _ in range(1100):  # the log keeps the last 1,000
        assert alice.get(SSHKEYS).content == listed.content
    entries = logged(client, admin_headers, "?limit=1000")
    assert len(entries) == 1000
    assert all(e["response_body"] == listed.json() for e in entries)
