"""API keys: /webarenaIndigo/v1/auth/... (facts §3.2–3.4)."""

from __future__ import annotations

import re

from sqlalchemy import inspect, text
from starlette.testclient import TestClient

from aiiro.config import Settings
from aiiro.runtime import Runtime
from aiiro.serve import build_app
from tests.conftest import Account

CREATE = "/webarenaIndigo/v1/auth/create/apikey"
LIST = "/webarenaIndigo/v1/auth/apikey"
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def token_for(client: TestClient, key: str, secret: str) -> tuple[int, str]:
    r = client.post(
        "/oauth/v1/accesstokens",
        json={"grantType": "client_credentials", "clientId": key, "clientSecret": secret},
    )
    return r.status_code, (r.json().get("accessToken", "") if r.status_code == 201 else "")


def test_create_is_a_GET_answering_201_without_a_success_key(alice: Account) -> None:
    r = alice.get(CREATE)
    assert r.status_code == 201
    m = re.fullmatch(r'\{"apiKey":"([A-Za-z0-9]{32})","apiSecret":"([A-Za-z0-9]{16})"\}', r.text)
    assert m, r.text


def test_a_created_key_works_for_tokens(alice: Account, client: TestClient) -> None:
    body = alice.get(CREATE).json()
    status, token = token_for(client, body["apiKey"], body["apiSecret"])
    assert status == 201
    r = client.get("/webarenaIndigo/v1/vm/sshkey", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


def test_list_uses_accesstokens_and_never_shows_secrets(alice: Account) -> None:
    created = alice.get(CREATE).json()
    r = alice.get(LIST)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["success", "total", "accesstokens"]
    assert body["total"] == 2 == len(body["accesstokens"])
    for item in body["accesstokens"]:
        assert list(item) == ["id", "apiKey", "created_at"]
        assert isinstance(item["id"], int)
        assert re.fullmatch(STAMP, item["created_at"])
    assert [k["apiKey"] for k in body["accesstokens"]] == [alice.api_key, created["apiKey"]]
    assert created["apiSecret"] not in r.text and alice.api_secret not in r.text


def test_secrets_are_stored_hashed_and_tokens_not_at_all(alice: Account, rt: Runtime) -> None:
    created = alice.get(CREATE).json()
    with rt.db.engine.connect() as conn:  # every row of every table, as text
        dump = "\n".join(
            repr(tuple(row))
            for table in inspect(conn).get_table_names()
            for row in conn.execute(text(f'SELECT * FROM "{table}"'))
        )
    assert created["apiKey"] in dump  # the key itself is not a secret
    for secret in (created["apiSecret"], alice.api_secret, alice.token):
        assert secret not in dump


def test_delete_answers_the_observed_message(alice: Account) -> None:
    alice.get(CREATE)
    other = alice.get(LIST).json()["accesstokens"][1]
    r = alice.delete(f"{LIST}/{other['id']}")
    assert r.status_code == 200
    assert r.text == '{"success":true,"message":"API Key is removed successfully"}'
    remaining = alice.get(LIST).json()
    assert [k["apiKey"] for k in remaining["accesstokens"]] == [alice.api_key]
    assert remaining["total"] == 1


def test_a_deleted_key_no_longer_issues_tokens_and_its_tokens_stop(
    alice: Account, client: TestClient
) -> None:
    created = alice.get(CREATE).json()
    _, token = token_for(client, created["apiKey"], created["apiSecret"])
    key_id = next(
        k["id"] for k in alice.get(LIST).json()["accesstokens"] if k["apiKey"] == created["apiKey"]
    )
    assert alice.delete(f"{LIST}/{key_id}").status_code == 200
    assert token_for(client, created["apiKey"], created["apiSecret"])[0] == 401
    r = client.get("/webarenaIndigo/v1/vm/sshkey", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert alice.get(LIST).status_code == 200  # the caller's own key is untouched


def test_deleting_the_key_in_use_revokes_the_callers_token(alice: Account) -> None:
    own = alice.get(LIST).json()["accesstokens"][0]
    assert own["apiKey"] == alice.api_key
    r = alice.delete(f"{LIST}/{own['id']}")
    assert r.status_code == 200
    follow_up = alice.get(LIST)
    assert follow_up.status_code == 401
    assert follow_up.json()["errorMessage"] == "Invalid access token."


def test_a_key_deleted_through_one_process_is_refused_by_another_at_once(
    alice: Account, settings: Settings
) -> None:
    other = build_app(settings)  # a second API process on the same store
    try:
        with TestClient(other, base_url="http://aiiro.test") as second:
            assert second.get(LIST, headers=alice.auth).status_code == 200  # its cache: warm
            own = alice.get(LIST).json()["accesstokens"][0]
            assert alice.delete(f"{LIST}/{own['id']}").status_code == 200
            r = second.get(LIST, headers=alice.auth)
            assert r.status_code == 401 and r.json()["errorMessage"] == "Invalid access token."
    finally:
        other.state.runtime.db.dispose()


def test_unknown_ids_are_404(alice: Account) -> None:
    expected = {"success": False, "errorMessage": "API key not found.", "errorCode": "A4042"}
    for raw in ("999999", "abc", "0", "9" * 40):
        r = alice.delete(f"{LIST}/{raw}")
        assert (r.status_code, r.json()) == (404, expected)


def test_apikey_endpoints_need_a_token(client: TestClient) -> None:
    for method, path in (("GET", CREATE), ("GET", LIST), ("DELETE", f"{LIST}/1")):
        r = client.request(method, path)
        assert r.status_code == 401
        assert r.json()["errorCode"] == "401"


def test_create_apikey_by_POST_is_not_allowed(alice: Account) -> None:
    r = alice.post(CREATE)
    assert r.status_code == 405
    assert r.json()["success"] is False
