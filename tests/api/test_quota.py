"""The gateway quota: 6 requests per calendar minute per API key (facts §2.5)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from aiiro.config import Settings
from aiiro.runtime import Runtime
from tests.conftest import Account

LIST = "/webarenaIndigo/v1/vm/sshkey"


@pytest.fixture
def quota_on(rt: Runtime, client: TestClient, admin_headers: dict[str, str]) -> Runtime:
    """Quota switched on (the emulator control), and the clock put one second into a
    fresh minute."""
    r = client.put("/_aiiro/profile", json={"quota": True}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["quota"] is True
    rt.clock.advance(61 - rt.clock.time() % 60)
    return rt


def minute_end_ms(rt: Runtime) -> int:
    now_ms = int(rt.clock.time() * 1000)
    return now_ms - now_ms % 60_000 + 60_000


def test_six_requests_then_the_exact_429(alice: Account, quota_on: Runtime) -> None:
    reset = minute_end_ms(quota_on)
    for left in range(5, -1, -1):
        r = alice.get(LIST)
        assert r.status_code == 200
        assert r.headers["x-quota-allowed"] == "6"
        assert r.headers["x-quota-available"] == str(left)
        assert r.headers["x-quota-reset"] == str(reset)
    r = alice.get(LIST)
    assert r.status_code == 429
    m = re.fullmatch(
        r'\{"errorCode": "429", "errorMessage": "Too Many Request\.", "developerMessage": '
        r'"Rate limit quota violation\. Quota limit  exceeded\. Identifier : '
        r'(?P<ident>[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12})", '
        r'"moreInfo": null, "requestId": "(?P<rid>[^"]+)"\}',
        r.text,
    )
    assert m, r.text
    assert m["rid"] == r.headers["x-request-id"]
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-length"] == str(len(r.content))
    assert (
        r.headers["x-quota-allowed"],
        r.headers["x-quota-available"],
        r.headers["x-quota-reset"],
    ) == ("6", "0", str(reset))
    assert "retry-after" not in r.headers
    assert r.headers["access-control-allow-origin"] == "*"
    # The 429 comes from the gateway, not the backend: none of the backend's headers.
    for backend_only in ("severity", "vary", "cache-control", "x-frame-options"):
        assert backend_only not in r.headers


def test_the_identifier_is_stable_per_api_key(alice: Account, quota_on: Runtime) -> None:
    for _ in range(6):
        alice.get(LIST)
    first = alice.get(LIST).json()["developerMessage"]
    assert alice.get(LIST).json()["developerMessage"] == first


def test_the_window_is_the_calendar_minute_of_the_server_clock(
    alice: Account, quota_on: Runtime
) -> None:
    for _ in range(6):
        alice.get(LIST)
    assert alice.get(LIST).status_code == 429
    quota_on.clock.advance(58)  # still the same minute: 59 s into it
    assert alice.get(LIST).status_code == 429
    quota_on.clock.advance(2)  # the next minute starts
    r = alice.get(LIST)
    assert r.status_code == 200
    assert r.headers["x-quota-available"] == "5"
    assert r.headers["x-quota-reset"] == str(minute_end_ms(quota_on))


def test_refused_requests_do_not_use_up_the_next_window(alice: Account, quota_on: Runtime) -> None:
    for _ in range(20):
        alice.get(LIST)
    quota_on.clock.advance(60)
    assert alice.get(LIST).headers["x-quota-available"] == "5"


def test_every_backend_request_counts_errors_included(alice: Account, quota_on: Runtime) -> None:
    alice.get(f"{LIST}/424242")  # 404
    alice.post(LIST, raw="{")  # 400
    alice.get("/webarenaIndigo/v1/vm/instancetypes")
    r = alice.get(LIST)
    assert r.headers["x-quota-available"] == "2"


def test_quota_is_per_api_key(
    alice: Account, bob: Account, client: TestClient, quota_on: Runtime
) -> None:
    for _ in range(6):
        alice.get(LIST)
    assert alice.get(LIST).status_code == 429
    assert bob.get(LIST).status_code == 200
    # Alice's second API key has its own window. Creating it is itself a request, so use
    # the admin API to make it.
    r = client.post(
        f"/_aiiro/accounts/{alice.id}/apikeys", headers={"Authorization": "Bearer test-admin-token"}
    )
    key = r.json()
    token = client.post(
        "/oauth/v1/accesstokens",
        json={"grantType": "client_credentials", "clientId": key["apiKey"],
              "clientSecret": key["apiSecret"]},
    ).json()["accessToken"]  # fmt: skip
    r = client.get(LIST, headers={"Authorization": f"Bearer {token}"})
    assert (r.status_code, r.headers["x-quota-available"]) == (200, "5")


def test_a_fresh_token_does_not_reset_the_quota(
    alice: Account, client: TestClient, quota_on: Runtime
) -> None:
    for _ in range(6):
        alice.get(LIST)
    r = client.post(
        "/oauth/v1/accesstokens",
        json={"grantType": "client_credentials", "clientId": alice.api_key,
              "clientSecret": alice.api_secret},
    )  # fmt: skip
    assert r.status_code == 201  # the token endpoint is not counted
    token = r.json()["accessToken"]
    assert client.get(LIST, headers={"Authorization": f"Bearer {token}"}).status_code == 429


def test_token_requests_are_never_counted(
    alice: Account, client: TestClient, quota_on: Runtime
) -> None:
    body = {"grantType": "client_credentials", "clientId": alice.api_key,
            "clientSecret": alice.api_secret}  # fmt: skip
    for _ in range(10):
        r = client.post("/oauth/v1/accesstokens", json=body)
        assert r.status_code == 201
        assert "x-quota-allowed" not in r.headers
    assert alice.get(LIST).headers["x-quota-available"] == "5"


def test_unauthenticated_requests_are_not_counted(
    alice: Account, client: TestClient, quota_on: Runtime
) -> None:
    for _ in range(10):
        assert client.get(LIST, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert alice.get(LIST).headers["x-quota-available"] == "5"


def test_the_limit_is_a_setting(alice: Account, quota_on: Runtime) -> None:
    quota_on.settings.quota_per_minute = 2
    assert alice.get(LIST).headers["x-quota-allowed"] == "2"
    alice.get(LIST)
    assert alice.get(LIST).status_code == 429


def test_with_quota_off_there_are_no_quota_headers_and_no_limit(
    alice: Account, rt: Runtime
) -> None:
    assert rt.settings.quota_enabled is False
    for _ in range(10):
        r = alice.get(LIST)
        assert r.status_code == 200
        assert "x-quota-allowed" not in r.headers


@pytest.mark.parametrize(
    ("profile", "setting", "enabled"),
    [
        ("fast", None, False),
        ("instant", None, False),
        ("faithful", None, True),
        ("fast", True, True),
        ("faithful", False, False),
    ],
)
def test_quota_default_follows_the_profile(
    profile: str, setting: bool | None, enabled: bool
) -> None:
    assert Settings(profile=profile, quota=setting).quota_enabled is enabled  # type: ignore[arg-type]


def test_quota_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIIRO_QUOTA", "true")
    assert Settings().quota_enabled is True
    monkeypatch.setenv("AIIRO_QUOTA", "false")
    monkeypatch.setenv("AIIRO_PROFILE", "faithful")
    assert Settings().quota_enabled is False


# --- what a client spends: /_aiiro/quota and the request log ---------------------------


def key_id(rt: Runtime, acct: Account) -> int:
    from sqlalchemy import select

    from aiiro.store.models import ApiKey

    with rt.db.read() as s:
        found = s.scalar(select(ApiKey.id).where(ApiKey.api_key == acct.api_key))
    assert found is not None
    return found


def minutes(client: TestClient, admin_headers: dict[str, str], kid: int) -> list[Any]:
    r = client.get(f"/_aiiro/quota/{kid}", headers=admin_headers)
    assert r.status_code == 200, r.text
    shown = r.json()["minutes"]
    return [(m["requests"], m["refused"], m["available"], m["current"]) for m in shown]


def test_quota_shows_each_keys_requests_and_429s_minute_by_minute(
    client: TestClient,
    admin_headers: dict[str, str],
    alice: Account,
    bob: Account,
    quota_on: Runtime,
) -> None:
    for _ in range(8):
        alice.get(LIST)
    bob.get(LIST)
    a, b = key_id(quota_on, alice), key_id(quota_on, bob)
    r = client.get("/_aiiro/quota", headers=admin_headers)
    assert r.status_code == 200
    body = r.json()
    assert (body["quota"], body["allowed"], body["minutes_kept"]) == (True, 6, 10)
    shown = {k["api_key_id"]: k for k in body["keys"]}
    assert set(shown) == {a, b}
    assert (shown[a]["api_key"], shown[a]["account_id"]) == (alice.api_key, alice.id)
    [minute] = shown[a]["minutes"]
    start_ms = minute_end_ms(quota_on) - 60_000
    assert minute == {
        "start_ms": start_ms,
        "start": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start_ms / 1000)),
        "current": True,
        "requests": 8,
        "refused": 2,
        "available": 0,
    }
    assert [(m["requests"], m["refused"]) for m in shown[b]["minutes"]] == [(1, 0)]

    quota_on.clock.advance(60)  # the next minute
    alice.get(LIST)
    assert minutes(client, admin_headers, a) == [(1, 0, 5, True), (8, 2, 0, False)]
    # One account's keys only.
    r = client.get("/_aiiro/quota", params={"account_id": bob.id}, headers=admin_headers)
    assert [k["api_key_id"] for k in r.json()["keys"]] == [b]


def test_quota_of_an_unknown_key_is_404_and_of_an_idle_key_empty(
    client: TestClient, admin_headers: dict[str, str], alice: Account, quota_on: Runtime
) -> None:
    r = client.get("/_aiiro/quota/999999", headers=admin_headers)
    assert r.status_code == 404 and r.json()["errorCode"] == "A4042"
    assert client.get("/_aiiro/quota/x", headers=admin_headers).status_code == 404
    r = client.get(f"/_aiiro/quota/{key_id(quota_on, alice)}", headers=admin_headers)
    assert (r.json()["api_key"], r.json()["minutes"]) == (alice.api_key, [])
    assert client.get("/_aiiro/quota").status_code == 401  # the admin token is needed


def test_only_the_last_ten_minutes_are_kept(
    client: TestClient, admin_headers: dict[str, str], alice: Account, quota_on: Runtime
) -> None:
    from sqlalchemy import func, select

    from aiiro.store.models import QuotaWindow

    for _ in range(12):
        alice.get(LIST)
        quota_on.clock.advance(60)
    alice.get(LIST)
    shown = minutes(client, admin_headers, key_id(quota_on, alice))
    assert shown == [(1, 0, 5, True)] + [(1, 0, 5, False)] * 9
    with quota_on.db.read() as s:
        assert s.scalar(select(func.count()).select_from(QuotaWindow)) == 10


def test_each_logged_request_says_its_key_and_quota_state(
    client: TestClient,
    admin_headers: dict[str, str],
    alice: Account,
    bob: Account,
    quota_on: Runtime,
) -> None:
    client.delete("/_aiiro/requests", headers=admin_headers)
    for _ in range(7):
        alice.get(LIST)
    bob.get(LIST)
    reset = minute_end_ms(quota_on)
    a = key_id(quota_on, alice)
    r = client.get("/_aiiro/requests", params={"api_key_id": a}, headers=admin_headers)
    logged = r.json()["requests"]
    assert [(e["status"], e["api_key_id"], e["quota"]) for e in logged] == [
        (200, a, {"allowed": 6, "available": left, "reset_ms": reset, "refused": False})
        for left in range(5, -1, -1)
    ] + [(429, a, {"allowed": 6, "available": 0, "reset_ms": reset, "refused": True})]
    everything = client.get("/_aiiro/requests", headers=admin_headers).json()["requests"]
    assert everything[-1]["api_key_id"] == key_id(quota_on, bob)


def test_without_the_quota_the_log_shows_the_key_and_no_quota_state(
    client: TestClient, admin_headers: dict[str, str], rt: Runtime, alice: Account
) -> None:
    alice.get(LIST)
    [entry] = client.get("/_aiiro/requests", params={"limit": 1}, headers=admin_headers).json()[
        "requests"
    ]
    assert (entry["api_key_id"], entry["quota"]) == (key_id(rt, alice), None)
    body = client.get("/_aiiro/quota", headers=admin_headers).json()
    assert (body["quota"], body["keys"]) == (False, [])
