"""A token answers for its own API key only, and never after the key is gone or its
account was disabled: not when another tenant's next key takes the deleted key's id, not
when a row is given that id by hand, not when the account is enabled again."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)
from hypothesis.strategies import sampled_from
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from aiiro.domain import accounts
from aiiro.domain.errors import GatewayError
from aiiro.runtime import Runtime, TtlCache
from aiiro.store.models import ApiKey
from tests.conftest import Account, make_account

TOKEN_URL = "/oauth/v1/accesstokens"
SSHKEYS = "/webarenaIndigo/v1/vm/sshkey"
APIKEYS = "/webarenaIndigo/v1/auth/apikey"
ADMIN = {"Authorization": "Bearer test-admin-token"}


def token(client: TestClient, key: str, secret: str) -> str:
    r = client.post(TOKEN_URL, json={"clientId": key, "clientSecret": secret})
    assert r.status_code == 201, r.text
    value: str = r.json()["accessToken"]
    return value


def sshkeys(client: TestClient, bearer: str) -> Any:
    return client.get(SSHKEYS, headers={"Authorization": f"Bearer {bearer}"})


def test_a_deleted_keys_token_never_answers_for_the_next_key_made(
    client: TestClient, alice: Account, bob: Account
) -> None:
    bobs = client.get("/webarenaIndigo/v1/auth/create/apikey", headers=bob.auth).json()
    bob_token = token(client, bobs["apiKey"], bobs["apiSecret"])
    listed = client.get(APIKEYS, headers=bob.auth).json()["accesstokens"]
    key_id = next(k["id"] for k in listed if k["apiKey"] == bobs["apiKey"])
    assert client.delete(f"{APIKEYS}/{key_id}", headers=bob.auth).status_code == 200
    assert sshkeys(client, bob_token).status_code == 401

    # Alice's next key: before, SQLite gave it the deleted key's id and Bob's old token
    # answered as Alice.
    made = client.get("/webarenaIndigo/v1/auth/create/apikey", headers=alice.auth)
    assert made.status_code == 201
    ids = [k["id"] for k in client.get(APIKEYS, headers=alice.auth).json()["accesstokens"]]
    assert key_id not in ids and max(ids) > key_id  # ids are never given out again
    assert sshkeys(client, bob_token).status_code == 401


def give_its_id_to(rt: Runtime, s: Session, key_id: int, account_id: int) -> None:
    """A key of `account_id` written by hand under `key_id` (as a restore would), with
    a salt of its own."""
    s.execute(
        insert(ApiKey).values(
            id=key_id,
            account_id=account_id,
            api_key="k" * 32,
            secret_hash=rt.hasher.hash("s" * 16),
            token_salt="another-salt-xyz",
            created_at=rt.clock.now(),
        )
    )


def test_a_token_does_not_verify_for_a_key_given_its_id_by_hand(
    client: TestClient, rt: Runtime, alice: Account, bob: Account
) -> None:
    """Ids aside (a restored backup, a sequence set back): a token is bound to its key's
    own random salt."""
    with rt.db.write() as s:
        key = accounts.create_api_key(rt, s, bob.id)
    old = token(client, key.api_key, key.api_secret)
    assert sshkeys(client, old).status_code == 200
    with rt.db.write() as s:
        accounts.delete_api_key(rt, s, bob.id, key.id)
        give_its_id_to(rt, s, key.id, alice.id)
    assert sshkeys(client, old).status_code == 401


def test_a_token_held_as_verified_answers_for_no_key_written_in_its_place(
    rt: Runtime, alice: Account, bob: Account
) -> None:
    """Another process deletes Bob's key, or a restore gives its id to a row of Alice's;
    this process has not heard yet (its next request clears its cache) and still holds
    Bob's token as verified, but no longer the key's state (pushed out of a full cache,
    or older than 5 s): the token answers for no one, and is refused, not an error."""
    rt.key_cache = TtlCache(max_entries=1)  # a token's entry pushes its key's state out
    for restored in (True, False):
        with rt.db.write() as s:
            key = accounts.create_api_key(rt, s, bob.id)
        bearer = accounts.issue_token(rt, key.api_key, key.api_secret).token
        assert accounts.authenticate(rt, bearer).api_key_id == key.id
        with rt.db.write() as s:  # the other process's writes, unseen here
            s.execute(delete(ApiKey).where(ApiKey.id == key.id))
            if restored:
                give_its_id_to(rt, s, key.id, alice.id)
        with pytest.raises(GatewayError) as err:
            accounts.authenticate(rt, bearer)
        assert (err.value.status, err.value.message) == (401, "Invalid access token.")


def test_enabling_an_account_again_does_not_bring_its_old_tokens_back(
    client: TestClient, alice: Account
) -> None:
    before = alice.token
    assert client.post(f"/_aiiro/accounts/{alice.id}/disable", headers=ADMIN).status_code == 200
    assert sshkeys(client, before).status_code == 401
    assert client.post(f"/_aiiro/accounts/{alice.id}/enable", headers=ADMIN).status_code == 200
    assert sshkeys(client, before).status_code == 401
    assert sshkeys(client, token(client, alice.api_key, alice.api_secret)).status_code == 200


def test_every_new_key_has_a_salt_of_its_own(rt: Runtime, alice: Account) -> None:
    with rt.db.write() as s:
        for _ in range(3):
            accounts.create_api_key(rt, s, alice.id)
    with rt.db.read() as s:
        salts = list(s.scalars(select(ApiKey.token_salt)))
    assert len(salts) == 4 and len(set(salts)) == 4
    assert all(len(salt) == 16 for salt in salts)


class TwoTenants(RuleBasedStateMachine):
    """Two accounts make, delete, disable and enable keys and take tokens; at every step
    each token answers exactly for its own key while the key exists and its account has
    not been disabled since the token was issued, and for no other key, ever."""

    keys = Bundle("keys")

    def __init__(self, rt: Runtime, client: TestClient) -> None:
        super().__init__()
        self.rt, self.client = rt, client
        self.accounts = [make_account(rt, client, f"Tenant {i}") for i in range(2)]
        # key id -> (account index, key, secret); tokens: (token, key id, valid now)
        self.live: dict[int, tuple[int, str, str]] = {}
        self.tokens: list[tuple[str, int, bool]] = []
        self.disabled = [False, False]

    @rule(target=keys, who=sampled_from([0, 1]))
    def make_key(self, who: int) -> int:
        with self.rt.db.write() as s:
            key = accounts.create_api_key(self.rt, s, self.accounts[who].id)
        self.live[key.id] = (who, key.api_key, key.api_secret)
        return key.id

    @rule(key_id=keys)
    def take_token(self, key_id: int) -> None:
        if key_id not in self.live:
            return
        who, key, secret = self.live[key_id]
        r = self.client.post(TOKEN_URL, json={"clientId": key, "clientSecret": secret})
        if self.disabled[who]:
            assert r.status_code == 401
            return
        assert r.status_code == 201
        self.tokens.append((r.json()["accessToken"], key_id, True))

    @rule(key_id=consumes(keys))
    def delete_key(self, key_id: int) -> None:
        if key_id not in self.live:
            return
        who = self.live.pop(key_id)[0]
        with self.rt.db.write() as s:
            accounts.delete_api_key(self.rt, s, self.accounts[who].id, key_id)
        self.tokens = [(t, k, ok and k != key_id) for t, k, ok in self.tokens]

    @rule(who=sampled_from([0, 1]))
    def disable(self, who: int) -> None:
        path = f"/_aiiro/accounts/{self.accounts[who].id}/disable"
        assert self.client.post(path, headers=ADMIN).status_code == 200
        self.disabled[who] = True
        mine = {k for k, (w, _, _) in self.live.items() if w == who}
        self.tokens = [(t, k, ok and k not in mine) for t, k, ok in self.tokens]

    @rule(who=sampled_from([0, 1]))
    def enable(self, who: int) -> None:
        path = f"/_aiiro/accounts/{self.accounts[who].id}/enable"
        assert self.client.post(path, headers=ADMIN).status_code == 200
        self.disabled[who] = False

    @invariant()
    def each_token_answers_for_its_own_key_only(self) -> None:
        for bearer, key_id, ok in self.tokens:
            caller = None
            with contextlib.suppress(GatewayError):
                caller = accounts.authenticate(self.rt, bearer)
            if ok:
                assert caller is not None and caller.api_key_id == key_id
            else:
                assert caller is None, (bearer, key_id, caller)


def test_two_tenants_never_share_a_token(rt: Runtime, client: TestClient) -> None:
    def machine() -> TwoTenants:
        return TwoTenants(rt, client)

    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
