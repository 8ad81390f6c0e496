"""domain/accounts.py directly: accounts, keys and tokens, expected values as literals."""

from __future__ import annotations

from datetime import datetime

import pytest

from aiiro.domain import accounts, limits
from aiiro.domain.errors import GatewayError, IndigoError
from aiiro.runtime import Runtime
from aiiro.store.models import Account
from tests.api.instance_helpers import FrozenClock


def test_service_ids_are_idg_and_eight_digits() -> None:
    assert accounts.service_id(7) == "idg-00000007"
    assert accounts.service_id(12345678) == "idg-12345678"


def test_the_gateway_errors() -> None:
    creds, token = accounts.invalid_credentials(), accounts.invalid_token()
    assert (creds.status, creds.message, creds.developer_message) == (
        401,
        "Invalid client credentials.",
        "Invalid ApiKey or ApiSecret.",
    )
    assert (token.status, token.message, token.developer_message) == (
        401,
        "Invalid access token.",
        "Invalid or expired access token.",
    )


def test_an_e_mail_address_makes_one_account_only(rt: Runtime) -> None:
    with rt.db.write() as s:
        first = accounts.create_account(rt, s, "One", "one@example.com")
        assert (first.name, first.email, first.status) == ("One", "one@example.com", "active")
        accounts.create_account(rt, s, "No mail")
        accounts.create_account(rt, s, "No mail either")  # no e-mail: no clash
        with pytest.raises(IndigoError) as err:
            accounts.create_account(rt, s, "Two", "one@example.com")
    assert (err.value.status, err.value.code, err.value.message) == (
        409,
        "A4090",
        "An account with this e-mail address exists.",
    )
    with rt.db.read() as s:
        assert [a.name for a in accounts.list_accounts(s)] == ["One", "No mail", "No mail either"]
        assert accounts.get_account(s, 999) is None


def test_keys_are_32_and_secrets_16_characters_and_listed_in_order(rt: Runtime) -> None:
    with rt.db.write() as s:
        acct = accounts.create_account(rt, s, "Keys")
        made = [accounts.create_api_key(rt, s, acct.id) for _ in range(3)]
    assert [(len(k.api_key), len(k.api_secret)) for k in made] == [(32, 16)] * 3
    assert all(k.api_key.isalnum() and k.api_secret.isalnum() for k in made)
    with rt.db.read() as s:
        assert [k.api_key for k in accounts.list_api_keys(s, acct.id)] == [k.api_key for k in made]
        assert accounts.list_api_keys(s, acct.id + 1) == []


def test_credentials_work_for_their_own_account_only(rt: Runtime) -> None:
    with rt.db.write() as s:
        acct = accounts.create_account(rt, s, "Creds")
        key = accounts.create_api_key(rt, s, acct.id)
    assert accounts.credentials_work(rt, key.api_key, key.api_secret, acct.id)
    assert not accounts.credentials_work(rt, key.api_key, key.api_secret, acct.id + 1)
    assert not accounts.credentials_work(rt, key.api_key, "x" * 16, acct.id)
    assert not accounts.credentials_work(rt, "y" * 32, key.api_secret, acct.id)


def test_a_token_names_its_caller_and_the_server_clock(rt: Runtime) -> None:
    with rt.db.write() as s:
        acct = accounts.create_account(rt, s, "Caller")
        key = accounts.create_api_key(rt, s, acct.id)
    before = int(rt.clock.time() * 1000)
    issued = accounts.issue_token(rt, key.api_key, key.api_secret)
    assert before <= issued.issued_ms <= int(rt.clock.time() * 1000)
    assert len(issued.token) == 28
    assert accounts.authenticate(rt, issued.token) == accounts.Caller(acct.id, key.id, "Caller")
    # Again, from the cache of verified tokens: the same caller.
    assert accounts.authenticate(rt, issued.token) == accounts.Caller(acct.id, key.id, "Caller")
    with pytest.raises(GatewayError) as err:
        accounts.issue_token(rt, key.api_key, "wrong")
    assert err.value.message == "Invalid client credentials."


def test_disabling_ends_tokens_for_good_and_enabling_gives_new_ones(rt: Runtime) -> None:
    with rt.db.write() as s:
        acct = accounts.create_account(rt, s, "Off")
        key = accounts.create_api_key(rt, s, acct.id)
    old = accounts.issue_token(rt, key.api_key, key.api_secret).token
    rt.clock.advance(0.01)
    with rt.db.write() as s:
        off = accounts.set_account_status(rt, s, acct.id, "disabled")
        assert off is not None and off.status == "disabled"
        assert accounts.set_account_status(rt, s, 999, "disabled") is None
    for token in (old,):
        with pytest.raises(GatewayError):
            accounts.authenticate(rt, token)
    with pytest.raises(GatewayError):
        accounts.issue_token(rt, key.api_key, key.api_secret)
    rt.clock.advance(0.01)
    with rt.db.write() as s:
        on = accounts.set_account_status(rt, s, acct.id, "active")
        assert on is not None and on.status == "active"
    with pytest.raises(GatewayError):
        accounts.authenticate(rt, old)  # not brought back
    fresh = accounts.issue_token(rt, key.api_key, key.api_secret).token
    assert accounts.authenticate(rt, fresh).account_id == acct.id


def test_disabling_twice_keeps_the_first_cut(rt: Runtime) -> None:
    with rt.db.write() as s:
        acct = accounts.create_account(rt, s, "Twice")
        accounts.set_account_status(rt, s, acct.id, "disabled")
        row = s.get(Account, acct.id)
        assert row is not None
        cut = row.tokens_after_ms
        assert cut > 0
    rt.clock.advance(5)
    with rt.db.write() as s:
        accounts.set_account_status(rt, s, acct.id, "disabled")
        row = s.get(Account, acct.id)
        assert row is not None and row.tokens_after_ms == cut


def test_a_deleted_key_takes_its_tokens_along(rt: Runtime) -> None:
    with rt.db.write() as s:
        acct = accounts.create_account(rt, s, "Del")
        key = accounts.create_api_key(rt, s, acct.id)
        other = accounts.create_account(rt, s, "Other")
    token = accounts.issue_token(rt, key.api_key, key.api_secret).token
    assert accounts.authenticate(rt, token).api_key_id == key.id
    with rt.db.write() as s, pytest.raises(IndigoError) as err:
        accounts.delete_api_key(rt, s, other.id, key.id)  # not the other account's
    assert (err.value.status, err.value.code, err.value.message) == (
        404,
        "A4042",
        "API key not found.",
    )
    with rt.db.write() as s:
        accounts.delete_api_key(rt, s, acct.id, key.id)
    with pytest.raises(GatewayError):
        accounts.authenticate(rt, token)


def test_an_account_is_found_by_its_id(rt: Runtime) -> None:
    with rt.db.write() as s:
        acct = accounts.create_account(rt, s, "Found")
    with rt.db.read() as s:
        found = accounts.get_account(s, acct.id)
        assert found is not None and found.name == "Found"


def test_the_cut_is_the_millisecond_after_the_disable(rt: Runtime) -> None:
    rt.clock = FrozenClock(1_800_000_000.0)
    with rt.db.write() as s:
        acct = accounts.create_account(rt, s, "Cut")
        key = accounts.create_api_key(rt, s, acct.id)
    same_ms = accounts.issue_token(rt, key.api_key, key.api_secret)
    with rt.db.write() as s:
        accounts.set_account_status(rt, s, acct.id, "disabled")
        accounts.set_account_status(rt, s, acct.id, "active")
    with pytest.raises(GatewayError):
        accounts.authenticate(rt, same_ms.token)  # issued in the millisecond of the disable
    rt.clock.advance(0.001)
    next_ms = accounts.issue_token(rt, key.api_key, key.api_secret)
    assert next_ms.issued_ms == 1_800_000_000_001
    assert accounts.authenticate(rt, next_ms.token).account_id == acct.id


def test_enabling_an_active_account_keeps_its_tokens(rt: Runtime) -> None:
    with rt.db.write() as s:
        acct = accounts.create_account(rt, s, "On")
        key = accounts.create_api_key(rt, s, acct.id)
    token = accounts.issue_token(rt, key.api_key, key.api_secret).token
    with rt.db.write() as s:
        accounts.set_account_status(rt, s, acct.id, "active")
    assert accounts.authenticate(rt, token).account_id == acct.id


def test_deleting_one_key_leaves_the_others(rt: Runtime) -> None:
    with rt.db.write() as s:
        acct = accounts.create_account(rt, s, "Two keys")
        first = accounts.create_api_key(rt, s, acct.id)
        second = accounts.create_api_key(rt, s, acct.id)
    with rt.db.write() as s:
        accounts.delete_api_key(rt, s, acct.id, first.id)
    with rt.db.read() as s:
        assert [k.id for k in accounts.list_api_keys(s, acct.id)] == [second.id]
    assert accounts.issue_token(rt, second.api_key, second.api_secret).token


def test_a_new_key_names_its_account_and_the_server_clock(rt: Runtime) -> None:
    rt.clock = FrozenClock(1_800_000_000.0)  # 2027-01-15 08:00:00 UTC
    with rt.db.write() as s:
        acct = accounts.create_account(rt, s, "Made")
        made = accounts.create_api_key(rt, s, acct.id)
    assert (made.account_id, made.created_at) == (acct.id, datetime(2027, 1, 15, 8, 0, 0))
    with rt.db.read() as s:
        [listed] = accounts.list_api_keys(s, acct.id)
        assert (listed.id, listed.created_at) == (made.id, datetime(2027, 1, 15, 8, 0, 0))


def test_an_account_gets_no_more_keys_than_its_limit(rt: Runtime) -> None:
    with rt.db.write() as s:
        acct = accounts.create_account(rt, s, "Capped")
        limits.set_for(rt, acct, {"apikeys": 2})
        accounts.create_api_key(rt, s, acct.id)
        accounts.create_api_key(rt, s, acct.id)
    with rt.db.write() as s, pytest.raises(IndigoError) as err:
        accounts.create_api_key(rt, s, acct.id)
    assert (err.value.status, err.value.code, err.value.message) == (
        400,
        "A4070",
        "The account's limit of 2 API keys is reached.",
    )
    with rt.db.read() as s:
        assert len(accounts.list_api_keys(s, acct.id)) == 2


def test_accounts_stay_listed_in_id_order_after_one_changes(rt: Runtime) -> None:
    # PostgreSQL writes a changed row anew at the end of the table: without an order,
    # the first account would come last once disabled.
    with rt.db.write() as s:
        made = [accounts.create_account(rt, s, name) for name in ("First", "Second", "Third")]
    with rt.db.write() as s:
        accounts.set_account_status(rt, s, made[0].id, "disabled")
    with rt.db.read() as s:
        assert [a.name for a in accounts.list_accounts(s)] == ["First", "Second", "Third"]
