"""Another account's ids behave exactly like ids that do not exist."""

from __future__ import annotations

from typing import Any

from tests.api.keygen import rsa_public
from tests.conftest import Account

SSHKEY = "/webarenaIndigo/v1/vm/sshkey"
APIKEY = "/webarenaIndigo/v1/auth/apikey"
MISSING_ID = 987654


def answer(r: Any) -> tuple[int, Any]:
    return r.status_code, r.json()


def alices_key(alice: Account) -> dict[str, Any]:
    r = alice.post(SSHKEY, {"sshName": "alice-key", "sshKey": rsa_public()})
    assert r.status_code == 201
    key: dict[str, Any] = r.json()["sshKey"]
    return key


def test_lists_show_only_the_callers_ssh_keys(alice: Account, bob: Account) -> None:
    alices_key(alice)
    bob.post(SSHKEY, {"sshName": "bob-key", "sshKey": rsa_public(n=3)})
    for path in (SSHKEY, f"{SSHKEY}/active/status"):
        assert [k["name"] for k in alice.get(path).json()["sshkeys"]] == ["alice-key"]
        assert [k["name"] for k in bob.get(path).json()["sshkeys"]] == ["bob-key"]


def test_retrieving_anothers_ssh_key_is_like_a_missing_one(alice: Account, bob: Account) -> None:
    key = alices_key(alice)
    assert answer(bob.get(f"{SSHKEY}/{key['id']}")) == answer(bob.get(f"{SSHKEY}/{MISSING_ID}"))
    assert bob.get(f"{SSHKEY}/{key['id']}").status_code == 404


def test_updating_anothers_ssh_key_is_like_a_missing_one(alice: Account, bob: Account) -> None:
    key = alices_key(alice)
    body = {"sshName": "stolen", "sshKey": rsa_public(n=3), "sshKeyStatus": "DEACTIVE"}
    assert answer(bob.put(f"{SSHKEY}/{key['id']}", body)) == answer(
        bob.put(f"{SSHKEY}/{MISSING_ID}", body)
    )
    (after,) = alice.get(f"{SSHKEY}/{key['id']}").json()["sshKey"]
    assert (after["name"], after["status"], after["sshkey"]) == (
        "alice-key",
        "ACTIVE",
        key["sshkey"],
    )


def test_updating_anothers_ssh_key_with_bad_input_still_says_not_found(
    alice: Account, bob: Account
) -> None:
    # Validation must not reveal that the id exists.
    key = alices_key(alice)
    bad = {"sshKeyStatus": "BOGUS"}
    assert answer(bob.put(f"{SSHKEY}/{key['id']}", bad)) == answer(
        bob.put(f"{SSHKEY}/{MISSING_ID}", bad)
    )


def test_deleting_anothers_ssh_key_is_like_a_missing_one(alice: Account, bob: Account) -> None:
    key = alices_key(alice)
    assert answer(bob.delete(f"{SSHKEY}/{key['id']}")) == answer(
        bob.delete(f"{SSHKEY}/{MISSING_ID}")
    )
    assert alice.get(SSHKEY).json()["total"] == 1


def test_api_key_lists_show_only_the_callers_keys(alice: Account, bob: Account) -> None:
    assert [k["apiKey"] for k in alice.get(APIKEY).json()["accesstokens"]] == [alice.api_key]
    assert [k["apiKey"] for k in bob.get(APIKEY).json()["accesstokens"]] == [bob.api_key]
    created = bob.get("/webarenaIndigo/v1/auth/create/apikey").json()
    assert created["apiKey"] not in alice.get(APIKEY).text


def test_deleting_anothers_api_key_is_like_a_missing_one(alice: Account, bob: Account) -> None:
    alice_key_id = alice.get(APIKEY).json()["accesstokens"][0]["id"]
    assert answer(bob.delete(f"{APIKEY}/{alice_key_id}")) == answer(
        bob.delete(f"{APIKEY}/{MISSING_ID}")
    )
    assert bob.delete(f"{APIKEY}/{alice_key_id}").status_code == 404
    assert alice.get(APIKEY).json()["total"] == 1
    assert alice.get(SSHKEY).status_code == 200  # her token still works
