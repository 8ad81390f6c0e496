"""Emulator controls seen through the instance endpoints: faults on create and stop, and
the clock running what fell due."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.api.instance_helpers import (
    STATUSUPDATE,
    command,
    create,
    create_id,
    register_key,
    shown,
)
from tests.conftest import Account


def fault(client: TestClient, admin: dict[str, str], **rule: Any) -> None:
    r = client.post("/_aiiro/faults", json=rule, headers=admin)
    assert r.status_code == 201, r.text


def advance(client: TestClient, admin: dict[str, str], seconds: float) -> dict[str, Any]:
    r = client.post("/_aiiro/clock/advance", json={"seconds": seconds}, headers=admin)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def refresh_token(client: TestClient, acct: Account) -> None:
    r = client.post(
        "/oauth/v1/accesstokens", json={"clientId": acct.api_key, "clientSecret": acct.api_secret}
    )
    acct.token = r.json()["accessToken"]


def test_out_of_stock_once(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    key = register_key(alice)
    fault(client, admin_headers, action="out_of_stock", count=1)
    r = create(alice, key)
    assert r.status_code == 400
    assert r.text == '{"success":false,"errorMessage":"Out of stock.","errorCode":"I10059"}'
    assert create(alice, key).status_code == 201


def test_daily_cap(client: TestClient, admin_headers: dict[str, str], alice: Account) -> None:
    key = register_key(alice)
    fault(client, admin_headers, action="daily_cap", params={"limit": 2})
    assert [create(alice, key, f"n{i}").status_code for i in range(2)] == [201, 201]
    r = create(alice, key, "n2")
    assert r.status_code == 400
    assert r.json()["errorCode"] == "A4060"
    assert r.json()["errorMessage"].startswith("The daily limit of 2 instance creations")
    advance(client, admin_headers, 86400)
    refresh_token(client, alice)
    assert create(alice, key, "n3").status_code == 201


def test_advance_runs_the_installation_that_fell_due(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    key = register_key(alice)
    client.put("/_aiiro/profile", json={"profile": "fast"}, headers=admin_headers)
    instance = create_id(alice, key)
    assert shown(alice, instance) == "OS installation In Progress"
    assert advance(client, admin_headers, 60)["ran"] >= 1
    assert shown(alice, instance) == "Stopped"


def test_stop_hangs_until_forcestop(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    key = register_key(alice)
    instance = create_id(alice, key)
    assert command(alice, instance, "start").json()["sucessCode"] == "I20008"
    fault(client, admin_headers, action="stop_hangs", count=1)
    r = command(alice, instance, "stop")
    assert r.status_code == 200 and r.json()["sucessCode"] == "I10025"
    advance(client, admin_headers, 3000)  # far past any stop time, within the token's life
    assert shown(alice, instance) == "Running"
    assert command(alice, instance, "forcestop").status_code == 200
    assert shown(alice, instance) == "Stopped"


def test_http_error_on_one_statusupdate_command(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    key = register_key(alice)
    instance = create_id(alice, key)
    fault(client, admin_headers, operation="stop", action="http_error", params={"status": 503})
    assert command(alice, instance, "start").status_code == 200
    r = command(alice, instance, "stop")
    assert r.status_code == 503 and r.json()["errorCode"] == "A5001"
    logged = client.get("/_aiiro/requests?limit=1", headers=admin_headers).json()["requests"]
    assert shown(alice, instance) == "Running"  # the handler never ran
    assert logged[0]["path"] == STATUSUPDATE and logged[0]["request_body"]["status"] == "stop"
