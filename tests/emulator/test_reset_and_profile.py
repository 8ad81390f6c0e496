"""Reset clears the emulator's state; the timing profile switches at runtime."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import Account

SSHKEYS = "/webarenaIndigo/v1/vm/sshkey"


def test_reset_clears_faults_and_the_request_log(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    client.post(
        "/_aiiro/faults",
        json={"operation": "sshkey:post", "action": "http_error"},
        headers=admin_headers,
    )
    assert alice.post(SSHKEYS, {"sshName": "a", "sshKey": "x"}).status_code == 500
    assert client.get("/_aiiro/requests", headers=admin_headers).json()["total"] >= 1

    assert client.post("/_aiiro/reset", headers=admin_headers).json() == {"success": True}

    assert client.get("/_aiiro/faults", headers=admin_headers).json()["faults"] == []
    assert client.get("/_aiiro/requests", headers=admin_headers).json()["requests"] == []
    # The account and its token survive; the rule no longer strikes.
    assert alice.get(SSHKEYS).status_code == 200
    assert alice.post(SSHKEYS, {"sshName": "a", "sshKey": "x"}).status_code != 500


def test_reset_keeps_clock_and_seed(client: TestClient, admin_headers: dict[str, str]) -> None:
    client.post("/_aiiro/clock/advance", json={"seconds": 60}, headers=admin_headers)
    client.post("/_aiiro/seed", json={"seed": 3}, headers=admin_headers)
    client.post("/_aiiro/reset", headers=admin_headers)
    assert client.get("/_aiiro/clock", headers=admin_headers).json()["offset_seconds"] == 60
    assert client.get("/_aiiro/seed", headers=admin_headers).json() == {"seed": 3}


def test_profile_is_read_and_switched(client: TestClient, admin_headers: dict[str, str]) -> None:
    r = client.get("/_aiiro/profile", headers=admin_headers)
    assert r.status_code == 200
    body = r.json()
    assert body["profile"] == "instant" and body["quota"] is False
    assert body["timings"]["install_s"] == 0

    r = client.put("/_aiiro/profile", json={"profile": "faithful"}, headers=admin_headers)
    assert r.status_code == 200
    body = r.json()
    assert body["profile"] == "faithful" and body["timings"]["install_s"] >= 60
    assert body["quota"] is False  # a runtime switch leaves the quota alone
    assert client.get("/_aiiro/health").json()["profile"] == "faithful"
    assert client.get("/_aiiro/profile", headers=admin_headers).json()["profile"] == "faithful"


def test_bad_profile_is_400(client: TestClient, admin_headers: dict[str, str]) -> None:
    r = client.put("/_aiiro/profile", json={"profile": "slow"}, headers=admin_headers)
    assert r.status_code == 400 and r.json()["errorCode"] == "A4002"
    assert client.put("/_aiiro/profile", json={"profile": "fast"}).status_code == 401
    assert client.get("/_aiiro/profile", headers=admin_headers).json()["profile"] == "instant"


def test_quota_switched_on_at_runtime(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    r = client.put("/_aiiro/profile", json={"quota": True}, headers=admin_headers)
    assert r.json()["quota"] is True and r.json()["profile"] == "instant"
    # Start just after a minute boundary of the server clock, so the window cannot turn.
    epoch_ms = client.get("/_aiiro/clock", headers=admin_headers).json()["epoch_ms"]
    to_next_minute = (60_000 - epoch_ms % 60_000) / 1000 + 0.5
    client.post("/_aiiro/clock/advance", json={"seconds": to_next_minute}, headers=admin_headers)
    statuses = [alice.get(SSHKEYS).status_code for _ in range(7)]
    assert statuses == [200] * 6 + [429]
    client.put("/_aiiro/profile", json={"quota": False}, headers=admin_headers)
    assert alice.get(SSHKEYS).status_code == 200
