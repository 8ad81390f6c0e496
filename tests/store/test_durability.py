"""What one server process wrote, the next one reads: accounts, keys, tokens, SSH keys."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from aiiro.config import Settings
from aiiro.domain import accounts
from aiiro.runtime import build_runtime
from aiiro.serve import build_app
from aiiro.store.models import Account as AccountRow
from tests.api.keygen import rsa_public
from tests.conftest import make_account


def started(settings: Settings) -> Any:
    return build_app(settings)


def test_state_survives_a_new_process(settings: Settings) -> None:
    first = started(settings)
    with TestClient(first) as client:
        alice = make_account(first.state.runtime, client, "Alice")
        key = alice.post(
            "/webarenaIndigo/v1/vm/sshkey", {"sshName": "kept", "sshKey": rsa_public()}
        ).json()["sshKey"]
        alice.put(f"/webarenaIndigo/v1/vm/sshkey/{key['id']}", {"sshKeyStatus": "DEACTIVE"})
        made = alice.get("/webarenaIndigo/v1/auth/create/apikey").json()
        listed_before = alice.get("/webarenaIndigo/v1/vm/sshkey").json()
    first.state.runtime.db.dispose()

    second = started(settings)
    try:
        with TestClient(second) as client:
            alice.http = client
            # The token issued by the first process is still good in the second.
            assert alice.get("/webarenaIndigo/v1/vm/sshkey").json() == listed_before
            assert listed_before["sshkeys"][0]["status"] == "DEACTIVE"
            keys = alice.get("/webarenaIndigo/v1/auth/apikey").json()["accesstokens"]
            assert [k["apiKey"] for k in keys] == [alice.api_key, made["apiKey"]]
            r = client.post(
                "/oauth/v1/accesstokens",
                json={"grantType": "client_credentials", "clientId": made["apiKey"],
                      "clientSecret": made["apiSecret"]},
            )  # fmt: skip
            assert r.status_code == 201
    finally:
        second.state.runtime.db.dispose()


def test_a_rolled_back_write_leaves_nothing(settings: Settings) -> None:
    rt = build_runtime(settings)
    rt.db.upgrade()
    try:
        with pytest.raises(RuntimeError), rt.db.write() as s:
            accounts.create_account(rt, s, "Ghost")
            raise RuntimeError("crash in the middle of a request")
        with rt.db.write() as s:
            accounts.create_account(rt, s, "Real")
        with rt.db.read() as s:
            assert list(s.scalars(select(AccountRow.name))) == ["Real"]
    finally:
        rt.db.dispose()


def test_the_secret_key_survives_so_stored_hashes_still_match(settings: Settings) -> None:
    rt = build_runtime(settings)
    rt.db.upgrade()
    with rt.db.write() as s:
        account = accounts.create_account(rt, s, "Alice")
        key = accounts.create_api_key(rt, s, account.id)
    rt.db.dispose()
    again = build_runtime(settings)
    try:
        issued = accounts.issue_token(again, key.api_key, key.api_secret)
        assert accounts.authenticate(again, issued.token).account_id == account.id
        assert (settings.data_dir / "secret.key").stat().st_mode & 0o777 == 0o600
    finally:
        again.db.dispose()
