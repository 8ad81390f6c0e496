"""The OpenAPI document: valid 3.1, every Indigo endpoint in it, and fuzzed with
schemathesis (bounded examples, in-process ASGI): no 5xx, every answer a documented code
with a body of the documented shape."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from aiiro.api.app import endpoints
from aiiro.config import Settings
from aiiro.domain import accounts
from aiiro.runtime import Runtime
from aiiro.serve import build_app
from tests.api.keygen import rsa_public

INDIGO_PATHS = r"^/(webarenaIndigo|oauth)/"
# indigo-api-facts.md §3.0: every endpoint of the real service.
FACTS_ENDPOINTS = {
    ("post", "/oauth/v1/accesstokens"),
    ("get", "/webarenaIndigo/v1/vm/sshkey"),
    ("post", "/webarenaIndigo/v1/vm/sshkey"),
    ("get", "/webarenaIndigo/v1/vm/sshkey/active/status"),
    ("get", "/webarenaIndigo/v1/vm/sshkey/{key_id}"),
    ("put", "/webarenaIndigo/v1/vm/sshkey/{key_id}"),
    ("delete", "/webarenaIndigo/v1/vm/sshkey/{key_id}"),
    ("get", "/webarenaIndigo/v1/auth/create/apikey"),
    ("get", "/webarenaIndigo/v1/auth/apikey"),
    ("delete", "/webarenaIndigo/v1/auth/apikey/{apikey_id}"),
    ("get", "/webarenaIndigo/v1/vm/instancetypes"),
    ("get", "/webarenaIndigo/v1/vm/getregion"),
    ("get", "/webarenaIndigo/v1/vm/oslist"),
    ("get", "/webarenaIndigo/v1/vm/getinstancespec"),
    ("post", "/webarenaIndigo/v1/vm/createinstance"),
    ("get", "/webarenaIndigo/v1/vm/getinstancelist"),
    ("post", "/webarenaIndigo/v1/vm/instance/statusupdate"),
    ("post", "/webarenaIndigo/v1/nw/createfirewall"),
    ("get", "/webarenaIndigo/v1/nw/getfirewalllist"),
    ("get", "/webarenaIndigo/v1/nw/gettemplate/{firewall_id}"),
    ("put", "/webarenaIndigo/v1/nw/updatefirewall"),
    ("post", "/webarenaIndigo/v1/nw/assign"),
    ("delete", "/webarenaIndigo/v1/nw/deletefirewall/{firewall_id}"),
    ("post", "/webarenaIndigo/v1/disk/takesnapshot"),
    ("get", "/webarenaIndigo/v1/disk/snapshotlist/{instance_id}"),
    ("post", "/webarenaIndigo/v1/disk/retakesnapshot"),
    ("post", "/webarenaIndigo/v1/disk/restoresnapshot"),
    ("delete", "/webarenaIndigo/v1/disk/deletesnapshot/{snapshot_id}"),
}


def test_the_document_is_valid_openapi_3_1(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_every_indigo_endpoint_is_served_and_documented(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    served = {
        (method, path)
        for path, ops in doc["paths"].items()
        if path.startswith(("/webarenaIndigo/", "/oauth/"))
        for method in ops
    }
    assert served == FACTS_ENDPOINTS
    assert {(e.method.lower(), e.path) for e in endpoints()} == FACTS_ENDPOINTS
    for method, path in FACTS_ENDPOINTS:
        responses = doc["paths"][path][method]["responses"]
        assert "422" not in responses
        assert any(code.startswith("2") for code in responses), (method, path)
        if path.startswith("/webarenaIndigo/"):
            assert {"401", "429"} <= set(responses)


def test_the_human_page_is_served(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and "openapi.json" in r.text


# --- fuzzing -------------------------------------------------------------------------------


@pytest.fixture
def fuzz_app(tmp_path: Path, database_url: str) -> Iterator[Any]:
    """One server for the whole fuzz run, with an account that owns some of everything,
    so that generated ids sometimes hit real resources."""
    app = build_app(
        Settings(
            data_dir=tmp_path,
            database_url=database_url,
            profile="instant",
            admin_token="fuzz-admin-token",
            worker=False,
            limit_apikeys=1_000_000,  # a key of its own for every case (see _token)
        )
    )
    with TestClient(app, base_url="http://aiiro.test") as c:
        rt: Runtime = app.state.runtime
        auth = {"Authorization": f"Bearer {_token(rt)}"}
        key = c.post(
            "/webarenaIndigo/v1/vm/sshkey",
            json={"sshName": "fuzz", "sshKey": rsa_public()},
            headers=auth,
        ).json()["sshKey"]["id"]
        body = {"sshKeyId": key, "regionId": 1, "osId": 22, "instancePlan": 13}
        for name in ("one", "two"):
            c.post(
                "/webarenaIndigo/v1/vm/createinstance",
                json={**body, "instanceName": name},
                headers=auth,
            )
        c.post(
            "/webarenaIndigo/v1/nw/createfirewall",
            json={"name": "fuzz", "inbound": [{"type": "SSH", "source": "0.0.0.0"}]},
            headers=auth,
        )
        c.post(
            "/webarenaIndigo/v1/disk/takesnapshot",
            json={"name": "fuzz", "instanceid": 1, "slotnum": 0},
            headers=auth,
        )
        yield app
    app.state.runtime.db.dispose()


def _token(rt: Runtime) -> str:
    """A fresh token of the fuzz account (the fuzzer may delete API keys, the one in use
    included: every case gets a token of its own)."""
    with rt.db.write() as s:
        account = accounts.list_accounts(s)
        account_id = account[0].id if account else accounts.create_account(rt, s, "Fuzz").id
        key = accounts.create_api_key(rt, s, account_id)
    return accounts.issue_token(rt, key.api_key, key.api_secret).token


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 15  # per operation and generation mode


def _fuzz(rt: Runtime, operation: Any, mode: GenerationMode, seen: Counter[int]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        headers = {"Authorization": f"Bearer {_token(rt)}"}
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        seen[response.status_code] += 1

    run()


def test_indigo_api_answers_as_documented(fuzz_app: Any) -> None:
    """Every Indigo operation, valid and invalid generated requests, a valid token on
    each. Prints a summary: per operation, how many requests and which statuses."""
    rt: Runtime = fuzz_app.state.runtime
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app).include(
        path_regex=INDIGO_PATHS
    )
    summary: dict[str, Counter[int]] = {}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        seen: Counter[int] = summary.setdefault(operation.label, Counter())
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(rt, operation, mode, seen)
            except Exception as exc:  # reported together below
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    total = sum(sum(c.values()) for c in summary.values())
    print(f"\nschemathesis: {len(summary)} operations, {total} requests")
    for label, statuses in sorted(summary.items()):
        print(f"  {label:62} {dict(sorted(statuses.items()))}")
    assert len(summary) == len(FACTS_ENDPOINTS)
    assert not failures, "\n\n".join(failures)
