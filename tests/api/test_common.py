"""Behaviour shared by every endpoint: lenient bodies, Indigo-shaped errors, headers."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from aiiro.api.body import Body, Id, validate
from aiiro.domain.errors import IndigoError
from tests.api.keygen import rsa_public
from tests.conftest import Account

SSHKEY = "/webarenaIndigo/v1/vm/sshkey"
GATEWAY_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "origin, x-requested-with, accept, Authorization, Content-Type",
    "access-control-max-age": "1728000",
    "access-control-allow-methods": "GET, PUT, POST, DELETE",
}
BACKEND_HEADERS = {
    "vary": "Authorization",
    "cache-control": "no-cache, private",
    "x-content-type-options": "nosniff",
    "x-frame-options": "sameorigin",
    "x-xss-protection": "1; mode=block",
    "strict-transport-security": "max-age=631138519; includeSubDomains",
}


def backend_error(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The backend's error shape, in its key order, with the expected status and code."""
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert list(body) == ["success", "errorMessage", "errorCode"]
    assert body["success"] is False and isinstance(body["errorMessage"], str)
    if code is not None:
        assert body["errorCode"] == code
    return body


# --- bodies ----------------------------------------------------------------------------


CONTENT_TYPES = [
    None,
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "application/json; charset=utf-8",
    "multipart/form-data",
]


def test_json_body_is_read_whatever_the_content_type(alice: Account) -> None:
    for content_type in CONTENT_TYPES:
        headers = {"Content-Type": content_type} if content_type else {}
        body = json.dumps({"sshName": "k", "sshKey": rsa_public()})
        r = alice.post(SSHKEY, raw=body, headers=headers)
        assert r.status_code == 201, (content_type, r.text)
    assert alice.get(SSHKEY).json()["total"] == len(CONTENT_TYPES)


def test_a_body_that_is_not_a_json_object_is_400_A4000(alice: Account) -> None:
    for raw in ('{"sshName": "k"', "sshName=k&sshKey=x", "[]", '"text"', "42", "null", "{'a': 1}"):
        backend_error(alice.post(SSHKEY, raw=raw), 400, "A4000")


def test_a_body_that_is_not_utf8_is_400(alice: Account) -> None:
    r = alice.http.post(SSHKEY, content=b"\xff\xfe{", headers=alice.auth)
    backend_error(r, 400, "A4000")


def test_an_empty_body_counts_as_missing_fields(alice: Account) -> None:
    body = backend_error(alice.post(SSHKEY, raw=""), 400, "A4001")
    assert body["errorMessage"] == "The sshName field is required."


def test_unknown_keys_are_ignored(alice: Account) -> None:
    r = alice.post(SSHKEY, {"sshName": "k", "sshKey": rsa_public(), "extra": [1, {"x": 2}]})
    assert r.status_code == 201


class WithId(Body):
    instanceId: Id


@pytest.mark.parametrize(("raw", "expected"), [(616513, 616513), ("616513", 616513),
                                               (" 7 ", 7), (12.0, 12)])  # fmt: skip
def test_ids_are_numbers_or_strings(raw: Any, expected: int) -> None:
    assert validate(WithId, {"instanceId": raw}).instanceId == expected


@pytest.mark.parametrize(
    "raw", [True, "abc", "1.5", 1.5, "", None, [], {}, "-3", "0x10", "9" * 40, 2**64]
)
def test_ids_that_are_not_whole_numbers_are_400(raw: Any) -> None:
    with pytest.raises(IndigoError) as err:
        validate(WithId, {"instanceId": raw})
    assert err.value.status == 400
    assert err.value.code == "A4002"
    assert "instanceId" in err.value.message


def test_a_missing_id_is_A4001() -> None:
    with pytest.raises(IndigoError) as err:
        validate(WithId, {})
    assert (err.value.status, err.value.code) == (400, "A4001")
    assert err.value.message == "The instanceId field is required."


# --- unknown paths and methods ------------------------------------------------------


def test_an_unknown_path_is_a_backend_404(alice: Account) -> None:
    backend_error(alice.get("/webarenaIndigo/v1/vm/nosuchthing"), 404, "A4040")


def test_a_wrong_method_is_405(alice: Account) -> None:
    backend_error(alice.http.patch(SSHKEY, headers=alice.auth), 405, "A4050")


# --- headers --------------------------------------------------------------------------


def test_backend_responses_carry_the_observed_headers(alice: Account) -> None:
    for r in (alice.get(SSHKEY), alice.get(f"{SSHKEY}/99999"), alice.post(SSHKEY, raw="{")):
        assert r.headers["content-type"] == "application/json"
        for name, value in {**GATEWAY_HEADERS, **BACKEND_HEADERS}.items():
            assert r.headers[name] == value, name
        # `severity` repeats the status (the header really has that name).
        assert r.headers["severity"] == str(r.status_code)
        uuid.UUID(r.headers["x-request-id"])


def test_the_token_response_carries_only_the_gateway_headers(
    client: TestClient, alice: Account
) -> None:
    r = client.post(
        "/oauth/v1/accesstokens",
        json={"grantType": "client_credentials", "clientId": alice.api_key,
              "clientSecret": alice.api_secret},
    )  # fmt: skip
    for name, value in GATEWAY_HEADERS.items():
        assert r.headers[name] == value
    uuid.UUID(r.headers["x-request-id"])
    for name in (*BACKEND_HEADERS, "severity"):
        assert name not in r.headers


def test_request_ids_differ_per_request(alice: Account) -> None:
    ids = {alice.get(SSHKEY).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


def test_cors_preflight_needs_no_token(client: TestClient) -> None:
    for path in (SSHKEY, "/oauth/v1/accesstokens", "/webarenaIndigo/v1/x/y"):
        r = client.options(
            path,
            headers={"Origin": "https://example.com", "Access-Control-Request-Method": "POST"},
        )
        assert (r.status_code, r.content) == (200, b""), path
        for name, value in GATEWAY_HEADERS.items():
            assert r.headers[name] == value
        uuid.UUID(r.headers["x-request-id"])


def test_admin_paths_do_not_get_indigo_headers(client: TestClient) -> None:
    r = client.get("/_aiiro/health")
    assert r.status_code == 200
    assert "severity" not in r.headers and "x-request-id" not in r.headers


# --- never a 500 ------------------------------------------------------------------------

NASTY_BODIES = [
    "",
    "{",
    "[]",
    "null",
    '{"sshName": null, "sshKey": null}',
    '{"sshName": {"a": 1}, "sshKey": 1e999}',
    '{"sshName": "x", "sshKey": NaN}',
    '{"sshName": "' + "x" * 100_000 + '", "sshKey": "ssh-rsa AAAA"}',
    '{"sshName": "\\u0000", "sshKey": "ssh-rsa \\u0000"}',
    '{"sshKeyStatus": 1, "sshName": [], "sshKey": false}',
    '{"sshName": "x", "sshKey": "ssh-rsa ' + "A" * 50_000 + '"}',
]
# 2**31 and 18 nines: numbers that fit 64 bits but not PostgreSQL's integer columns.
NASTY_PATHS = ["1", "0", "-1", "2147483648", "9" * 18, "9" * 19, "9" * 200, "%00",
               "%F0%9F%98%80", "1e3", " 1"]  # fmt: skip


def test_bad_bodies_never_cause_a_500(alice: Account) -> None:
    key_id = alice.post(SSHKEY, {"sshName": "k", "sshKey": rsa_public()}).json()["sshKey"]["id"]
    for raw in NASTY_BODIES:
        for r in (alice.post(SSHKEY, raw=raw), alice.put(f"{SSHKEY}/{key_id}", raw=raw)):
            assert 400 <= r.status_code < 500, (raw[:80], r.text)
            backend_error(r, r.status_code)


def test_odd_path_ids_never_cause_a_500(alice: Account) -> None:
    for path in NASTY_PATHS:
        for r in (
            alice.get(f"{SSHKEY}/{path}"),
            alice.put(f"{SSHKEY}/{path}", {"sshName": "x"}),
            alice.delete(f"{SSHKEY}/{path}"),
        ):
            backend_error(r, 404, "A4041")


def test_odd_api_key_ids_never_cause_a_500(alice: Account, bob: Account) -> None:
    for path in NASTY_PATHS:  # "1" is alice's key: bob's request must not find it
        backend_error(bob.delete(f"/webarenaIndigo/v1/auth/apikey/{path}"), 404, "A4042")


def test_odd_query_values_never_cause_a_500(alice: Account) -> None:
    for query in ("instanceTypeId=" + "9" * 40, "instanceTypeId=-1", "osId=%00",
                  "instanceTypeId=&osId=", "osId=2147483648"):  # fmt: skip
        for endpoint in ("getregion", "oslist", "getinstancespec"):
            r = alice.get(f"/webarenaIndigo/v1/vm/{endpoint}?{query}")
            assert r.status_code in (200, 400), (query, r.text)
