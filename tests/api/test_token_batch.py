"""Group commit on the token endpoint (api/token_batch.py): concurrent requests share one
transaction, and each still gets its own answer."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from aiiro.domain import accounts
from aiiro.runtime import Runtime
from tests.conftest import Account

TOKEN = "/oauth/v1/accesstokens"


def _body(client_id: str, secret: str) -> str:
    return json.dumps(
        {"grantType": "client_credentials", "clientId": client_id, "clientSecret": secret}
    )


def _concurrently(app: Any, bodies: list[str]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://aiiro.test") as c:
            return list(await asyncio.gather(*(c.post(TOKEN, content=b) for b in bodies)))

    return asyncio.run(go())


def test_concurrent_requests_share_one_transaction_and_each_gets_a_token(
    app: Any, rt: Runtime, alice: Account, bob: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    real = accounts.issue_tokens

    def spy(rt: Runtime, s: Any, pairs: Any) -> Any:
        batches.append(len(pairs))
        return real(rt, s, pairs)

    monkeypatch.setattr(accounts, "issue_tokens", spy)
    bodies = [_body(alice.api_key, alice.api_secret)] * 10 + [_body(bob.api_key, bob.api_secret)]
    bodies.insert(5, _body(alice.api_key, "wrong-secret"))
    answers = _concurrently(app, bodies)

    assert batches == [12]
    assert [r.status_code for r in answers] == [201] * 5 + [401] + [201] * 6
    assert answers[5].json()["errorMessage"] == "Invalid client credentials."
    tokens = [r.json()["accessToken"] for r in answers if r.status_code == 201]
    assert len(set(tokens)) == 11
    for token, owner in zip(tokens, [alice.id] * 10 + [bob.id], strict=True):
        assert accounts.authenticate(rt, token).account_id == owner


def test_a_failed_transaction_fails_every_request_in_it(
    app: Any, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(rt: Runtime, s: Any, pairs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(accounts, "issue_tokens", broken)
    answers = _concurrently(app, [_body(alice.api_key, alice.api_secret)] * 3)
    assert [r.status_code for r in answers] == [500] * 3
    assert all(r.json()["success"] is False for r in answers)


def test_a_lone_request_is_answered_without_waiting(alice: Account) -> None:
    r = alice.http.post(TOKEN, content=_body(alice.api_key, alice.api_secret))
    assert r.status_code == 201
