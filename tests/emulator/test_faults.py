"""Fault rules: /_aiiro/faults and how rules strike Indigo requests."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from aiiro.config import Settings
from aiiro.domain import faults as domain_faults
from aiiro.runtime import Runtime
from aiiro.serve import build_app
from tests.conftest import Account

SSHKEYS = "/webarenaIndigo/v1/vm/sshkey"
REGIONS = "/webarenaIndigo/v1/vm/getregion?instanceTypeId=1"
TOKEN = "/oauth/v1/accesstokens"


def add(client: TestClient, admin: dict[str, str], **rule: Any) -> dict[str, Any]:
    r = client.post("/_aiiro/faults", json=rule, headers=admin)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def rules(client: TestClient, admin: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get("/_aiiro/faults", headers=admin)
    assert r.status_code == 200
    found: list[dict[str, Any]] = r.json()["faults"]
    return found


# --- management ----------------------------------------------------------------------


def test_fault_controls_need_the_admin_token(client: TestClient, alice: Account) -> None:
    for headers in ({}, alice.auth, {"Authorization": "Bearer wrong"}):
        assert client.get("/_aiiro/faults", headers=headers).status_code == 401
        r = client.post("/_aiiro/faults", json={"action": "out_of_stock"}, headers=headers)
        assert r.status_code == 401
    assert rules_count(client) == 0


def rules_count(client: TestClient) -> int:
    r = client.get("/_aiiro/faults", headers={"Authorization": "Bearer test-admin-token"})
    total: int = r.json()["total"]
    return total


def test_a_rule_is_listed_read_and_deleted(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    made = add(
        client,
        admin_headers,
        operation="SSHKEY:POST",
        action="http_error",
        params={"status": 503},
        probability=0.5,
        count=3,
        account_id=str(alice.id),
    )
    assert made["operation"] == "sshkey:post"  # stored in its one canonical form
    assert made["remaining"] == 3 and made["probability"] == 0.5
    assert made["account_id"] == alice.id and made["params"] == {"status": 503}
    assert client.get(f"/_aiiro/faults/{made['id']}", headers=admin_headers).json() == made
    assert rules(client, admin_headers) == [made]

    r = client.delete(f"/_aiiro/faults/{made['id']}", headers=admin_headers)
    assert r.json() == {"deleted": 1}
    for method in (client.get, client.delete):
        r = method(f"/_aiiro/faults/{made['id']}", headers=admin_headers)
        assert r.status_code == 404
        assert r.json() == {
            "success": False,
            "errorMessage": "Fault rule not found.",
            "errorCode": "A4048",
        }


def test_delete_all_rules(client: TestClient, admin_headers: dict[str, str]) -> None:
    add(client, admin_headers, action="out_of_stock")
    add(client, admin_headers, operation="*", action="latency", params={"seconds": 1})
    assert client.delete("/_aiiro/faults", headers=admin_headers).json() == {"deleted": 2}
    assert rules(client, admin_headers) == []


def test_domain_actions_default_to_their_operation(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    expected = {
        "out_of_stock": "createinstance",
        "import_invalid": "createinstance",
        "daily_cap": "createinstance",
        "stop_hangs": "statusupdate:stop",
        "snapshot_fails": "takesnapshot",
        "boot_stuck": "restoresnapshot",
    }
    for action, operation in expected.items():
        assert add(client, admin_headers, action=action)["operation"] == operation
    # "stop" is statusupdate's stop command.
    assert add(client, admin_headers, action="stop_hangs", operation="stop")["operation"] == (
        "statusupdate:stop"
    )
    made = add(client, admin_headers, action="snapshot_fails", operation="retakesnapshot")
    assert made["operation"] == "retakesnapshot"


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"action": "explode"}, "action"),
        ({"action": "http_error"}, "operation"),
        ({"action": "http_error", "operation": "nosuchendpoint"}, "operation"),
        ({"action": "http_error", "operation": "sshkey:patch"}, "operation"),
        ({"action": "http_error", "operation": "sshkey:stop"}, "operation"),
        ({"action": "out_of_stock", "operation": "getinstancelist"}, "operation"),
        ({"action": "http_error", "operation": "*", "params": {"status": 200}}, "params.status"),
        ({"action": "http_error", "operation": "*", "params": {"color": 1}}, "params"),
        ({"action": "http_error", "operation": "*", "params": {"shape": "x"}}, "params.shape"),
        ({"action": "latency", "operation": "*"}, "params.seconds"),
        ({"action": "latency", "operation": "*", "params": {"seconds": -1}}, "params.seconds"),
        ({"action": "latency", "operation": "*", "params": {"seconds": 301}}, "params.seconds"),
        ({"action": "out_of_stock", "probability": 0}, "probability"),
        ({"action": "out_of_stock", "probability": 1.5}, "probability"),
        ({"action": "out_of_stock", "count": 0}, "count"),
        ({"action": "out_of_stock", "count": 2**31}, "count"),  # beyond the stored integer
        ({"action": "out_of_stock", "count": 2**64}, "count"),
        ({"action": "daily_cap", "count": 2}, "daily_cap"),
        ({"action": "daily_cap", "params": {"limit": -1}}, "params.limit"),
        ({"action": "out_of_stock", "account_id": 999}, "account_id"),
        ({"operation": "createinstance"}, "action"),
    ],
)
def test_a_bad_rule_is_an_indigo_shaped_400(
    client: TestClient, admin_headers: dict[str, str], rule: dict[str, Any], field: str
) -> None:
    r = client.post("/_aiiro/faults", json=rule, headers=admin_headers)
    assert r.status_code == 400, r.text
    body = r.json()
    assert list(body) == ["success", "errorMessage", "errorCode"]
    assert body["errorCode"] in ("A4001", "A4002")
    assert f"The {field} field" in body["errorMessage"]
    assert rules(client, admin_headers) == []


# --- http_error ------------------------------------------------------------------------


def test_count_strikes_exactly_that_many_times_then_stays_listed_spent(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    made = add(client, admin_headers, operation="sshkey", action="http_error", count=2)
    statuses = [alice.get(SSHKEYS).status_code for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    [rule] = rules(client, admin_headers)
    assert rule["id"] == made["id"] and rule["remaining"] == 0


def test_default_http_error_is_an_indigo_backend_body(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    add(client, admin_headers, operation="sshkey", action="http_error", count=1)
    r = alice.get(SSHKEYS)
    assert r.status_code == 500
    assert r.text == '{"success":false,"errorMessage":"Injected fault.","errorCode":"A5001"}'
    # Still an Indigo backend response: the backend headers come with it.
    assert r.headers["severity"] == "500"
    assert r.headers["cache-control"] == "no-cache, private"


def test_http_error_with_its_own_status_code_and_message(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    add(
        client,
        admin_headers,
        operation="getregion",
        action="http_error",
        params={"status": 400, "errorCode": "I10037", "errorMessage": "License Failed To Update."},
    )
    r = alice.get(REGIONS)
    assert r.status_code == 400
    assert r.json() == {
        "success": False,
        "errorMessage": "License Failed To Update.",
        "errorCode": "I10037",
    }


def test_injected_429_is_the_real_quota_answer(
    client: TestClient, admin_headers: dict[str, str], alice: Account, rt: Runtime
) -> None:
    add(client, admin_headers, operation="*", action="http_error", params={"status": 429})
    r = alice.get(SSHKEYS)
    assert r.status_code == 429
    m = re.fullmatch(
        r'\{"errorCode": "429", "errorMessage": "Too Many Request.", "developerMessage": '
        r'"Rate limit quota violation. Quota limit  exceeded. Identifier : [0-9a-f-]{36}", '
        r'"moreInfo": null, "requestId": "([0-9a-f-]{36})"\}',
        r.text,
    )
    assert m, r.text
    assert m.group(1) == r.headers["x-request-id"]
    assert r.headers["x-quota-allowed"] == "6"
    assert r.headers["x-quota-available"] == "0"
    reset_ms = int(r.headers["x-quota-reset"])
    assert reset_ms % 60_000 == 0 and 0 < reset_ms - rt.clock.time() * 1000 <= 60_000
    assert "retry-after" not in r.headers


def test_injected_401_is_the_gateway_shape(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    add(client, admin_headers, operation="apikey:get", action="http_error", params={"status": 401})
    r = alice.get("/webarenaIndigo/v1/auth/apikey")
    assert r.status_code == 401
    body = r.json()
    assert list(body) == ["errorCode", "errorMessage", "developerMessage", "moreInfo", "requestId"]
    assert body["errorCode"] == "401" and body["errorMessage"] == "Invalid access token."


def test_token_endpoint_faults_answer_in_the_gateway_shape(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    add(
        client,
        admin_headers,
        operation="accesstokens",
        action="http_error",
        count=1,
        params={"status": 503, "errorMessage": "Service Unavailable"},
    )
    creds = {
        "grantType": "client_credentials",
        "clientId": alice.api_key,
        "clientSecret": alice.api_secret,
        "code": "",
    }
    r = client.post(TOKEN, json=creds)
    assert r.status_code == 503
    body = r.json()
    assert body["errorCode"] == "503" and body["errorMessage"] == "Service Unavailable"
    assert "success" not in body
    assert client.post(TOKEN, json=creds).status_code == 201


def test_backend_shape_can_be_forced_for_429(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    add(
        client,
        admin_headers,
        operation="sshkey",
        action="http_error",
        params={"status": 429, "shape": "backend", "errorCode": "X1"},
    )
    r = alice.get(SSHKEYS)
    assert r.status_code == 429
    assert r.json() == {"success": False, "errorMessage": "Injected fault.", "errorCode": "X1"}


def test_method_qualifier_narrows_a_rule(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    add(client, admin_headers, operation="sshkey:post", action="http_error")
    assert alice.get(SSHKEYS).status_code == 200
    r = alice.post(SSHKEYS, {"sshName": "k", "sshKey": "ssh-rsa AAAA"})
    assert r.status_code == 500 and r.json()["errorCode"] == "A5001"


def test_a_rule_for_one_account_leaves_others_alone(
    client: TestClient, admin_headers: dict[str, str], alice: Account, bob: Account
) -> None:
    add(client, admin_headers, operation="*", action="http_error", account_id=alice.id)
    assert alice.get(SSHKEYS).status_code == 500
    assert bob.get(SSHKEYS).status_code == 200


def test_path_ids_do_not_change_the_operation(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    add(
        client,
        admin_headers,
        operation="sshkey:delete",
        action="http_error",
        params={"status": 502},
    )
    assert alice.delete(f"{SSHKEYS}/12345").status_code == 502
    # Another endpoint under the same area is not hit.
    assert alice.get("/webarenaIndigo/v1/vm/sshkey/active/status").status_code == 200


def test_unauthenticated_requests_get_their_401_not_the_fault(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    add(client, admin_headers, operation="*", action="http_error", count=1)
    r = client.get(SSHKEYS)
    assert r.status_code == 401 and r.json()["errorMessage"] == "Invalid access token."
    assert rules(client, admin_headers)[0]["remaining"] == 1  # not spent


def test_probability_under_a_seed_is_reproducible(
    tmp_path: Path, new_database_url: Callable[[], str]
) -> None:
    """Two fresh servers with the same seed see the same faults on the same requests."""

    def pattern(name: str) -> list[int]:
        with server(tmp_path / name, new_database_url()) as (client, admin, account):
            r = client.post("/_aiiro/seed", json={"seed": 2024}, headers=admin)
            assert r.status_code == 200
            add(client, admin, operation="getregion", action="http_error", probability=0.3)
            return [account.get(REGIONS).status_code for _ in range(60)]

    first, second = pattern("a"), pattern("b")
    assert first == second
    assert set(first) == {200, 500}
    assert 8 <= first.count(500) <= 30  # about 30% of 60


def test_probability_and_count_together(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    client.post("/_aiiro/seed", json={"seed": 7}, headers=admin_headers)
    add(client, admin_headers, operation="getregion", action="http_error", probability=0.5, count=3)
    statuses = [alice.get(REGIONS).status_code for _ in range(40)]
    failed_at = [i for i, status in enumerate(statuses) if status == 500]
    assert len(failed_at) == 3
    # Drawn with probability 0.5, not the first three requests (as a count alone would do):
    # under seed 7 a request that passed comes before the third fault.
    assert failed_at != [0, 1, 2]
    assert statuses.index(200) < failed_at[2]
    assert rules(client, admin_headers)[0]["remaining"] == 0


# --- latency ------------------------------------------------------------------------------


def test_latency_delays_the_answer(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    started = time.perf_counter()
    assert alice.get(REGIONS).status_code == 200
    baseline = time.perf_counter() - started

    add(
        client,
        admin_headers,
        operation="getregion",
        action="latency",
        params={"seconds": 0.4},
        count=1,
    )
    started = time.perf_counter()
    r = alice.get(REGIONS)
    slow = time.perf_counter() - started
    assert r.status_code == 200 and r.json()["success"] is True
    assert slow >= 0.4 > baseline
    logged = client.get("/_aiiro/requests?limit=1", headers=admin_headers).json()["requests"]
    assert logged[0]["duration_ms"] >= 400


def test_latency_then_error(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    add(client, admin_headers, operation="sshkey", action="latency", params={"seconds": 0.2})
    add(client, admin_headers, operation="sshkey", action="http_error", params={"status": 504})
    started = time.perf_counter()
    r = alice.get(SSHKEYS)
    assert r.status_code == 504 and time.perf_counter() - started >= 0.2


# --- domain actions through take() ------------------------------------------------------


def test_take_gives_out_of_stock_with_its_error(
    client: TestClient, admin_headers: dict[str, str], rt: Runtime, alice: Account
) -> None:
    add(client, admin_headers, action="out_of_stock", count=1)
    with rt.db.write() as s:
        hit = domain_faults.take(rt, s, "createinstance", alice.id)
        assert domain_faults.take(rt, s, "createinstance", alice.id) is None
    assert hit is not None and hit.action == "out_of_stock" and hit.error is not None
    assert (hit.error.status, hit.error.code, hit.error.message) == (400, "I10059", "Out of stock.")


def test_a_count_is_spent_even_when_the_callers_transaction_rolls_back(
    client: TestClient, admin_headers: dict[str, str], rt: Runtime, alice: Account
) -> None:
    """The caller raises the fault's error inside its transaction: the fault still struck."""
    add(client, admin_headers, action="out_of_stock", count=1)
    with pytest.raises(Exception, match="I10059"), rt.db.write() as s:
        hit = domain_faults.take(rt, s, "createinstance", alice.id)
        assert hit is not None and hit.error is not None
        raise hit.error
    with rt.db.write() as s:
        assert domain_faults.take(rt, s, "createinstance", alice.id) is None
    assert rules(client, admin_headers)[0]["remaining"] == 0


def test_take_in_a_read_session_spends_the_count(
    client: TestClient, admin_headers: dict[str, str], rt: Runtime, alice: Account
) -> None:
    add(client, admin_headers, action="snapshot_fails", count=1)
    with rt.db.read() as s:
        hit = domain_faults.take(rt, s, "takesnapshot", alice.id)
    assert hit is not None and hit.action == "snapshot_fails" and hit.error is None
    with rt.db.read() as s:
        assert domain_faults.take(rt, s, "takesnapshot", alice.id) is None


def test_take_matches_stop_by_either_name_and_ignores_http_rules(
    client: TestClient, admin_headers: dict[str, str], rt: Runtime, alice: Account
) -> None:
    add(client, admin_headers, operation="statusupdate:stop", action="http_error")
    add(client, admin_headers, action="stop_hangs", count=2)
    with rt.db.write() as s:
        assert domain_faults.take(rt, s, "start", alice.id) is None
        first = domain_faults.take(rt, s, "stop", alice.id)
        second = domain_faults.take(rt, s, "statusupdate:stop", alice.id)
        third = domain_faults.take(rt, s, "stop", alice.id)
    assert first is not None and first.action == "stop_hangs"
    assert second is not None and third is None


def test_daily_cap_counts_creations_of_the_last_24_hours(
    client: TestClient, admin_headers: dict[str, str], rt: Runtime, alice: Account, bob: Account
) -> None:
    add(client, admin_headers, action="daily_cap", params={"limit": 2})
    make_instances(rt, alice.id, 2)
    with rt.db.write() as s:
        hit = domain_faults.take(rt, s, "createinstance", alice.id)
        assert domain_faults.take(rt, s, "createinstance", bob.id) is None  # a per-account limit
    assert hit is not None and hit.error is not None
    assert (hit.error.status, hit.error.code) == (400, "A4060")
    assert "daily limit of 2" in hit.error.message

    client.post("/_aiiro/clock/advance", json={"seconds": 86400}, headers=admin_headers)
    with rt.db.write() as s:
        assert domain_faults.take(rt, s, "createinstance", alice.id) is None


def make_instances(rt: Runtime, account_id: int, n: int) -> None:
    from aiiro.store.models import Instance

    now = rt.clock.now()
    with rt.db.write() as s:
        for i in range(n):
            s.add(
                Instance(
                    account_id=account_id,
                    name=f"i{i}",
                    region_id=1,
                    os_id=1,
                    plan_id=1,
                    power="stopped",
                    set_no=1,
                    host_id=1,
                    vnc_passwd="x" * 16,
                    ipaddress_type="ipv4",
                    created_at=now,
                    updated_at=now,
                )
            )


# --- helpers -------------------------------------------------------------------------


class server:
    """A fresh in-process server on its own data dir and store, with one account."""

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.settings = Settings(
            data_dir=data_dir,
            database_url=database_url,
            profile="instant",
            admin_token="test-admin-token",
            worker=False,
        )

    def __enter__(self) -> tuple[TestClient, dict[str, str], Account]:
        self.app = build_app(self.settings)
        self.client = TestClient(self.app, base_url="http://aiiro.test").__enter__()
        admin = {"Authorization": "Bearer test-admin-token"}
        made = self.client.post("/_aiiro/accounts", json={"name": "Carol"}, headers=admin).json()
        token = self.client.post(
            TOKEN,
            content=json.dumps({"clientId": made["apiKey"], "clientSecret": made["apiSecret"]}),
        ).json()["accessToken"]
        account = Account(
            made["account"]["id"], made["apiKey"], made["apiSecret"], token, self.client
        )
        return self.client, admin, account

    def __exit__(self, *exc: object) -> None:
        self.client.__exit__(*exc)
        self.app.state.runtime.db.dispose()


def test_http_faults_cost_no_query_when_there_are_none(rt: Runtime) -> None:
    """The cache answers "no rules" without touching the store on every request."""
    assert domain_faults.has_http_rules(rt) is False
    rt.db.dispose()
    calls = []
    from sqlalchemy import event

    def count(*_: Any) -> None:
        calls.append(1)

    event.listen(rt.db.engine, "before_cursor_execute", count)
    try:
        for _ in range(20):
            assert domain_faults.has_http_rules(rt) is False
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", count)
    assert calls == []
