"""Hot routes (api/hotpath.py) answer exactly as the routed path would.

Two apps over one database: one as served, one with the hot-route table emptied, so that
every request goes through FastAPI's router. Status, headers and bytes must agree, on
success and on every error the caller can provoke.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from aiiro.api import hotpath
from aiiro.config import Settings
from aiiro.runtime import Runtime
from aiiro.serve import build_app
from tests.api.instance_helpers import create_id, register_key
from tests.api.keygen import rsa_public
from tests.conftest import Account

TOKEN = "/oauth/v1/accesstokens"
SSHKEY = "/webarenaIndigo/v1/vm/sshkey"
ACTIVE = "/webarenaIndigo/v1/vm/sshkey/active/status"
LIST = "/webarenaIndigo/v1/vm/getinstancelist"
# Differ between any two answers: the request id, and a fresh token with its time.
VOLATILE = re.compile(r'("requestId": ")[^"]+|("accessToken": ")[^"]+|("issuedAt": ")\d+')


@pytest.fixture
def routed(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The same server with no hot routes: FastAPI routes every request."""
    monkeypatch.setattr(hotpath, "hot_routes", dict)
    app = build_app(settings)
    with TestClient(app, base_url="http://aiiro.test") as c:
        yield c
    app.state.runtime.db.dispose()


def _same(hot: httpx.Response, routed: httpx.Response) -> None:
    assert hot.status_code == routed.status_code, (hot.text, routed.text)
    skip = {"x-request-id", "date"}
    assert [(k, v) for k, v in hot.headers.items() if k not in skip] == [
        (k, v) for k, v in routed.headers.items() if k not in skip
    ]
    assert VOLATILE.sub(r"\1\2\3", hot.text) == VOLATILE.sub(r"\1\2\3", routed.text)


def test_every_hot_route_is_a_documented_route_with_the_same_endpoint(rt: Runtime) -> None:
    from aiiro.api.app import routers

    routes = {
        (method, route.path): route.endpoint
        for router in routers()
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    table = hotpath.hot_routes()
    assert ("GET", SSHKEY) in table and ("POST", TOKEN) in table
    for key, endpoint in table.items():
        assert routes.get(key) is endpoint, key


def test_an_endpoint_with_other_parameters_is_refused() -> None:
    async def odd(request: Any, who: Any, extra: int) -> Any:
        raise AssertionError

    with pytest.raises(TypeError, match="must take"):
        hotpath.HotRoutes(app=odd, handlers={}, routes={("GET", "/x"): odd})


def test_lists_answer_the_same_bytes(alice: Account, routed: TestClient) -> None:
    register_key(alice, "one")
    key = register_key(alice, "two")
    alice.put(f"{SSHKEY}/{key}", {"sshKeyStatus": "DEACTIVE"})
    create_id(alice, register_key(alice, "three"), "web")
    for path in (SSHKEY, ACTIVE, LIST):
        _same(alice.get(path), routed.get(path, headers=alice.auth))


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nosuchtoken"}, {"Authorization": "Basic abc"}],
    ids=["no-token", "unknown-token", "not-bearer"],
)
def test_refusals_answer_the_same_bytes(
    client: TestClient, routed: TestClient, headers: dict[str, str]
) -> None:
    for path in (SSHKEY, LIST):
        _same(client.get(path, headers=headers), routed.get(path, headers=headers))


@pytest.mark.parametrize(
    "body",
    [
        None,  # filled in with good credentials
        '{"grantType":"client_credentials","clientId":"nokey","clientSecret":"x","code":""}',
        '{"grantType":"password","clientId":"a","clientSecret":"b"}',
        "{not json",
        "[]",
    ],
    ids=["good", "bad-credentials", "bad-grant", "bad-json", "not-an-object"],
)
def test_token_answers_the_same_bytes(
    alice: Account, client: TestClient, routed: TestClient, body: str | None
) -> None:
    raw = body or json.dumps(
        {
            "grantType": "client_credentials",
            "clientId": alice.api_key,
            "clientSecret": alice.api_secret,
            "code": "",
        }
    )
    hot, slow = client.post(TOKEN, content=raw), routed.post(TOKEN, content=raw)
    _same(hot, slow)
    if body is None:
        assert hot.status_code == 201
        # Both tokens are real.
        for token in (hot.json()["accessToken"], slow.json()["accessToken"]):
            r = client.get(SSHKEY, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200


def test_the_quota_refusal_is_the_same_on_both_paths(
    alice: Account, rt: Runtime, routed: TestClient
) -> None:
    """The 429 and its X-Quota-* headers come from the shared `caller` dependency."""
    rt.settings.quota = True
    routed.app.state.runtime.settings.quota = True  # type: ignore[attr-defined]
    for _ in range(6):
        assert alice.get(SSHKEY).status_code == 200
    hot = alice.get(SSHKEY)
    slow = routed.get(SSHKEY, headers=alice.auth)
    assert hot.status_code == 429
    _same(hot, slow)


def test_a_new_key_shows_in_the_next_list_at_once(alice: Account) -> None:
    """The list is kept between requests (Database.memo) but never outlives a change."""
    assert alice.get(SSHKEY).json()["total"] == 0
    alice.post(SSHKEY, {"sshName": "k", "sshKey": rsa_public()})
    assert alice.get(SSHKEY).json()["total"] == 1
    assert alice.get(ACTIVE).json()["total"] == 1
