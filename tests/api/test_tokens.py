"""Bearer tokens as an attacker and a clock see them: forged and tampered tokens, the exact
second a token dies, many tokens in one millisecond, and the lengths of keys and secrets.

The token's layout is written out here (from docs/decisions.md), not taken from
domain/accounts.py: 28 base62 digits (0-9A-Za-z, most significant first) of a 166-bit
number, the API key's id (32 bits), the issue time in ms (48), a serial number (14) and
the signature (72)."""

from __future__ import annotations

import itertools
import re

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from aiiro.domain import accounts
from aiiro.runtime import Runtime
from aiiro.store.models import ApiKey
from tests.api.instance_helpers import FrozenClock
from tests.conftest import Account, make_account

TOKEN_URL = "/oauth/v1/accesstokens"
SSHKEYS = "/webarenaIndigo/v1/vm/sshkey"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
INVALID_TOKEN = {
    "errorCode": "401",
    "errorMessage": "Invalid access token.",
    "developerMessage": "Invalid or expired access token.",
    "moreInfo": None,
}


def number(token: str) -> int:
    n = 0
    for c in token:
        n = n * 62 + BASE62.index(c)
    return n


def text(n: int) -> str:
    digits = []
    for _ in range(28):
        n, r = divmod(n, 62)
        digits.append(BASE62[r])
    assert n == 0
    return "".join(reversed(digits))


def fields(token: str) -> tuple[int, int, int, int]:
    """(key id, issue ms, serial, signature)."""
    n = number(token)
    return n >> 134, (n >> 86) & (2**48 - 1), (n >> 72) & (2**14 - 1), n & (2**72 - 1)


def made(key_id: int, ms: int, serial: int, signature: int) -> str:
    return text((key_id << 134) | (ms << 86) | (serial << 72) | signature)


def issue(client: TestClient, acct: Account) -> tuple[str, int]:
    r = client.post(TOKEN_URL, json={"clientId": acct.api_key, "clientSecret": acct.api_secret})
    assert r.status_code == 201, r.text
    return r.json()["accessToken"], int(r.json()["issuedAt"])


def key_id(rt: Runtime, acct: Account) -> int:
    with rt.db.read() as s:
        found = s.scalar(select(ApiKey.id).where(ApiKey.api_key == acct.api_key))
    assert found is not None
    return found


def refused(client: TestClient, token: str) -> bool:
    r = client.get(SSHKEYS, headers={"Authorization": f"Bearer {token}".encode()})
    if r.status_code == 200:
        return False
    assert r.status_code == 401, r.text
    body = r.json()
    assert {k: body[k] for k in INVALID_TOKEN} == INVALID_TOKEN
    return True


@pytest.fixture
def frozen(rt: Runtime) -> FrozenClock:
    """The server clock at 2027-01-15 08:00:00.000 UTC, standing still."""
    clock = FrozenClock(1_800_000_000.0)
    rt.clock = clock
    return clock


def test_the_layout_is_the_documented_one(
    client: TestClient, rt: Runtime, alice: Account, frozen: FrozenClock
) -> None:
    token, issued = issue(client, alice)
    assert re.fullmatch(r"[0-9A-Za-z]{28}", token)
    kid, ms, _serial, _signature = fields(token)
    assert (kid, ms, issued) == (key_id(rt, alice), 1_800_000_000_000, 1_800_000_000_000)


def test_a_token_for_another_key_made_without_its_secret_is_refused(
    client: TestClient, rt: Runtime, alice: Account, bob: Account, frozen: FrozenClock
) -> None:
    token, _ = issue(client, alice)
    _, ms, serial, signature = fields(token)
    # Alice's genuine signature on a token that names Bob's key...
    assert refused(client, made(key_id(rt, bob), ms, serial, signature))
    # ...or any other signature: none is Bob's without the server's key and Bob's salt.
    for guess in (0, 1, 2**72 - 1, signature ^ 1):
        assert refused(client, made(key_id(rt, bob), ms, serial, guess))
    # Bob's own token works, and names Bob's key.
    own, _ = issue(client, bob)
    assert not refused(client, own) and fields(own)[0] == key_id(rt, bob)


def test_a_token_for_a_key_that_does_not_exist_is_refused(
    client: TestClient, rt: Runtime, alice: Account, frozen: FrozenClock
) -> None:
    token, _ = issue(client, alice)
    _, ms, serial, signature = fields(token)
    assert refused(client, made(key_id(rt, alice) + 1000, ms, serial, signature))


def test_every_tampered_digit_is_refused(
    client: TestClient, alice: Account, frozen: FrozenClock
) -> None:
    token, _ = issue(client, alice)
    assert not refused(client, token)
    for i, c in enumerate(token):
        other = BASE62[(BASE62.index(c) + 1) % 62]
        assert refused(client, token[:i] + other + token[i + 1 :]), i


def test_a_moved_issue_time_or_serial_breaks_the_signature(
    client: TestClient, alice: Account, frozen: FrozenClock
) -> None:
    token, _ = issue(client, alice)
    kid, ms, serial, signature = fields(token)
    assert made(kid, ms, serial, signature) == token
    assert refused(client, made(kid, ms + 3_600_000, serial, signature))  # a younger token
    assert refused(client, made(kid, ms, serial ^ 1, signature))


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "A" * 27,
        "A" * 29,
        "A" * 27 + "-",
        "A" * 27 + "é",
        "z" * 28,  # more than 166 bits
        "0" * 28,
    ],
)
def test_malformed_tokens_are_refused(client: TestClient, alice: Account, bad: str) -> None:
    assert refused(client, bad)


def test_a_token_dies_3599_seconds_after_it_was_issued(
    client: TestClient, alice: Account, frozen: FrozenClock
) -> None:
    token, issued = issue(client, alice)
    assert issued == 1_800_000_000_000
    frozen.advance(3598.999)
    assert not refused(client, token)
    frozen.advance(0.001)  # 3599 s
    assert refused(client, token)
    frozen.advance(1.0)  # 3600 s
    assert refused(client, token)


def test_the_token_body_says_3599(client: TestClient, alice: Account) -> None:
    r = client.post(TOKEN_URL, json={"clientId": alice.api_key, "clientSecret": alice.api_secret})
    assert r.json()["expiresIn"] == "3599"


def test_tokens_issued_in_one_millisecond_are_distinct_and_all_valid(
    client: TestClient, alice: Account, frozen: FrozenClock
) -> None:
    issued = [issue(client, alice) for _ in range(50)]
    assert {ms for _, ms in issued} == {1_800_000_000_000}
    tokens = {token for token, _ in issued}
    assert len(tokens) == 50
    for token in tokens:
        assert not refused(client, token)


def test_the_serial_number_starts_again_at_0_after_16383(
    client: TestClient, alice: Account, frozen: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server process hands out more than 16384 tokens in its life: the serial number
    wraps within its 14 bits and never spills into the issue time."""
    # The process's serial counter, set where the 16384th token of its life comes next.
    monkeypatch.setattr(accounts, "_SERIALS", itertools.count(16383))
    last, wrapped = issue(client, alice)[0], issue(client, alice)[0]
    assert [fields(t)[1:3] for t in (last, wrapped)] == [
        (1_800_000_000_000, 16383),
        (1_800_000_000_000, 0),
    ]
    assert not refused(client, last) and not refused(client, wrapped)


def test_keys_are_32_and_secrets_16_alphanumerics(
    client: TestClient, rt: Runtime, alice: Account
) -> None:
    r = alice.get("/webarenaIndigo/v1/auth/create/apikey")
    assert r.status_code == 201, r.text
    body = r.json()
    assert re.fullmatch(r"[A-Za-z0-9]{32}", body["apiKey"]), body
    assert re.fullmatch(r"[A-Za-z0-9]{16}", body["apiSecret"]), body
    # The first key of an account, made by the operator, has the same shape.
    carol = make_account(rt, client, "Carol Example")
    assert re.fullmatch(r"[A-Za-z0-9]{32}", carol.api_key)
    assert re.fullmatch(r"[A-Za-z0-9]{16}", carol.api_secret)
