"""The gateway quota: 6 requests per calendar minute per API key (facts §2.5)."""

from __future__ import annotations

import re

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
