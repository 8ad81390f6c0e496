"""What one account may hold: past its limit a create is an Indigo-shaped 400 (A4070) and
changes nothing; the operator sets other figures per account through /_aiiro/. And what a
name may be: characters that show, nothing that makes one name look like another."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from aiiro.runtime import Runtime
from tests.api.instance_helpers import create, register_key
from tests.api.keygen import rsa_public
from tests.conftest import Account

SSHKEY = "/webarenaIndigo/v1/vm/sshkey"
ADMIN = {"Authorization": "Bearer test-admin-token"}


def add_key(acct: Account, name: str) -> int:
    return acct.post(SSHKEY, {"sshName": name, "sshKey": rsa_public()}).status_code


def test_a_key_past_the_limit_is_refused_and_a_deleted_one_makes_room(
    rt: Runtime, alice: Account
) -> None:
    rt.settings.limit_sshkeys = 2
    assert [add_key(alice, "a"), add_key(alice, "b")] == [201, 201]
    r = alice.post(SSHKEY, {"sshName": "c", "sshKey": rsa_public()})
    assert (r.status_code, r.json()) == (
        400,
        {
            "success": False,
            "errorMessage": "The account's limit of 2 SSH keys is reached.",
            "errorCode": "A4070",
        },
    )
    listed = alice.get(SSHKEY).json()["sshkeys"]
    assert [k["name"] for k in listed] == ["a", "b"]  # nothing made
    assert alice.delete(f"{SSHKEY}/{listed[0]['id']}").status_code == 200
    assert add_key(alice, "c") == 201


def test_the_operator_sets_an_accounts_own_limits(
    client: TestClient, alice: Account, bob: Account
) -> None:
    path = f"/_aiiro/accounts/{alice.id}/limits"
    assert client.get(path, headers=ADMIN).json() == {
        "instances": 100,
        "sshkeys": 100,
        "firewalls": 100,
        "apikeys": 50,
    }
    r = client.put(path, json={"instances": 1, "firewalls": 0}, headers=ADMIN)
    assert r.status_code == 200
    assert r.json() == {"instances": 1, "sshkeys": 100, "firewalls": 0, "apikeys": 50}
    key = register_key(alice)
    assert create(alice, key).status_code == 201
    second = create(alice, key)
    assert second.status_code == 400
    assert second.json()["errorMessage"] == "The account's limit of 1 instances is reached."
    r = alice.post("/webarenaIndigo/v1/nw/createfirewall", {"name": "fw", "inbound": []})
    assert r.json()["errorCode"] == "A4070"
    assert create(bob, register_key(bob)).status_code == 201  # another account: its own
    r = client.put(path, json={"instances": None}, headers=ADMIN)
    assert r.json()["instances"] == 100
    assert create(alice, key).status_code == 201
    # Only the operator: not another tenant, not without the token; bad figures refused.
    assert client.put(path, json={"instances": 5}).status_code == 401
    assert client.put(path, json={"instances": -1}, headers=ADMIN).status_code == 400
    assert client.put(path, json={"gpus": 1}, headers=ADMIN).status_code == 400
    assert client.get("/_aiiro/accounts/999/limits", headers=ADMIN).status_code == 404


def test_api_keys_have_a_limit_too(rt: Runtime, alice: Account) -> None:
    rt.settings.limit_apikeys = 2
    assert alice.get("/webarenaIndigo/v1/auth/create/apikey").status_code == 201
    r = alice.get("/webarenaIndigo/v1/auth/create/apikey")
    assert (r.status_code, r.json()["errorCode"]) == (400, "A4070")


@pytest.mark.parametrize(
    "name",
    ["\u202egnp.exe", "a\u200bb", "tab\there", "bell\x07", "line\u2028break", "\ue000"],
)
def test_names_that_hide_characters_are_refused(alice: Account, name: str) -> None:
    r = alice.post(SSHKEY, {"sshName": name, "sshKey": rsa_public()})
    assert (r.status_code, r.json()) == (
        400,
        {
            "success": False,
            "errorMessage": "The sshName field must hold only characters that show "
            "(no control or bidi ones).",
            "errorCode": "A4002",
        },
    )
    r = create(alice, register_key(alice), name=name)
    assert r.status_code == 400 and "instanceName" in r.json()["errorMessage"]


@pytest.mark.parametrize("name", ["ウェブ１", "web-1 (test)", "café ☕", "a" * 255])
def test_names_people_write_are_taken(alice: Account, name: str) -> None:
    assert add_key(alice, name) == 201
