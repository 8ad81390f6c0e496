"""SSH keys: /webarenaIndigo/v1/vm/sshkey (facts §4.1)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from aiiro.runtime import Runtime
from tests.api.keygen import ecdsa_public, ed25519_public, rsa_public, weak_rsa_public
from tests.conftest import Account

BASE = "/webarenaIndigo/v1/vm/sshkey"
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
INVALID_KEY = {"success": False, "errorMessage": "Invalid SSH key.", "errorCode": "I10034"}


def php(text: str) -> str:
    """A string as PHP's json_encode writes it inside quotes: slashes escaped."""
    return text.replace("/", "\\/")


def create(who: Account, name: str = "testkey", key: str | None = None) -> dict[str, Any]:
    r = who.post(BASE, {"sshName": name, "sshKey": key or rsa_public()})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def test_create_answers_201_with_the_observed_bytes(alice: Account) -> None:
    key = rsa_public()
    r = alice.post(BASE, {"sshName": "testsshkeyname", "sshKey": key})
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/json"
    # Create orders the key's fields differently from list/retrieve, and `sshKey` is an object.
    m = re.fullmatch(
        r'\{"success":true,"message":"SSH key has been added successfully","sshKey":\{'
        r'"name":"testsshkeyname","sshkey":"(?P<key>[^"]+)","status":"ACTIVE",'
        rf'"user_id":{alice.id},"service_id":"idg-{alice.id:08d}",'
        rf'"updated_at":"(?P<u>{STAMP})","created_at":"(?P<c>{STAMP})","id":(?P<id>\d+)\}}\}}',
        r.text,
    )
    assert m, r.text
    assert m["key"] == php(key)
    assert m["u"] == m["c"]


def test_list_orders_fields_as_observed(alice: Account) -> None:
    created = create(alice)["sshKey"]
    r = alice.get(BASE)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["success", "total", "sshkeys"]
    assert body["success"] is True and body["total"] == 1
    (item,) = body["sshkeys"]
    assert list(item) == [
        "id",
        "service_id",
        "user_id",
        "name",
        "sshkey",
        "status",
        "created_at",
        "updated_at",
    ]
    assert item == {k: created[k] for k in item}
    assert isinstance(item["user_id"], int)
    assert r.text.startswith('{"success":true,"total":1,"sshkeys":[{"id":')


def test_retrieve_wraps_the_key_in_a_one_element_array(alice: Account) -> None:
    created = create(alice)["sshKey"]
    r = alice.get(f"{BASE}/{created['id']}")
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["success", "sshKey"]
    assert isinstance(body["sshKey"], list) and len(body["sshKey"]) == 1
    assert body["sshKey"][0] == alice.get(BASE).json()["sshkeys"][0]


def test_path_id_of_an_existing_key_accepts_leading_zeros(alice: Account) -> None:
    key_id = create(alice)["sshKey"]["id"]
    assert alice.get(f"{BASE}/00{key_id}").status_code == 200


def test_update_message_keeps_its_trailing_space(alice: Account, rt: Runtime) -> None:
    created = create(alice)["sshKey"]
    rt.clock.advance(5)
    new_key = rsa_public(n=1)
    r = alice.put(
        f"{BASE}/{created['id']}",
        {"sshName": "renamed", "sshKey": new_key, "sshKeyStatus": "DEACTIVE"},
    )
    assert r.status_code == 200
    assert r.text == '{"success":true,"message":"SSH key has been updated successfully "}'
    (item,) = alice.get(f"{BASE}/{created['id']}").json()["sshKey"]
    assert (item["name"], item["sshkey"], item["status"]) == ("renamed", new_key, "DEACTIVE")
    assert item["created_at"] == created["created_at"]
    assert item["updated_at"] > created["updated_at"]


def test_active_list_leaves_out_deactivated_keys(alice: Account) -> None:
    first = create(alice, "first")["sshKey"]
    second = create(alice, "second", rsa_public(n=2))["sshKey"]
    alice.put(f"{BASE}/{first['id']}", {"sshKeyStatus": "DEACTIVE"})
    active = alice.get(f"{BASE}/active/status").json()
    assert list(active) == ["success", "total", "sshkeys"]
    assert [k["id"] for k in active["sshkeys"]] == [second["id"]]
    assert active["total"] == 1
    everything = alice.get(BASE).json()
    assert [(k["id"], k["status"]) for k in everything["sshkeys"]] == [
        (first["id"], "DEACTIVE"),
        (second["id"], "ACTIVE"),
    ]
    alice.put(f"{BASE}/{first['id']}", {"sshKeyStatus": "ACTIVE"})
    assert alice.get(f"{BASE}/active/status").json()["total"] == 2


def test_partial_update_changes_only_the_fields_sent(alice: Account) -> None:
    key = rsa_public()
    created = create(alice, "keep-me", key)["sshKey"]
    assert alice.put(f"{BASE}/{created['id']}", {"sshName": "new-name"}).status_code == 200
    (item,) = alice.get(f"{BASE}/{created['id']}").json()["sshKey"]
    assert (item["name"], item["sshkey"], item["status"]) == ("new-name", key, "ACTIVE")


@pytest.mark.parametrize("body", [{}, {"sshKeyState": "DEACTIVE"}, {"sshName": None}])
def test_update_naming_none_of_the_fields_is_400(alice: Account, body: dict[str, Any]) -> None:
    created = create(alice)["sshKey"]
    r = alice.put(f"{BASE}/{created['id']}", body)
    assert r.status_code == 400
    assert r.json()["errorCode"] == "A4001"
    (item,) = alice.get(f"{BASE}/{created['id']}").json()["sshKey"]
    assert (item["status"], item["updated_at"]) == ("ACTIVE", created["updated_at"])


def test_update_refuses_an_unknown_status(alice: Account) -> None:
    created = create(alice)["sshKey"]
    for status in ("INACTIVE", "active", ""):
        r = alice.put(f"{BASE}/{created['id']}", {"sshKeyStatus": status})
        assert r.status_code == 400
        assert r.json()["errorCode"] == "A4002"
    assert alice.get(f"{BASE}/{created['id']}").json()["sshKey"][0]["status"] == "ACTIVE"


def test_update_with_an_invalid_key_changes_nothing(alice: Account) -> None:
    key = rsa_public()
    created = create(alice, "k", key)["sshKey"]
    r = alice.put(f"{BASE}/{created['id']}", {"sshName": "other", "sshKey": ed25519_public()})
    assert (r.status_code, r.json()) == (400, INVALID_KEY)
    (item,) = alice.get(f"{BASE}/{created['id']}").json()["sshKey"]
    assert (item["name"], item["sshkey"]) == ("k", key)


def test_delete_removes_the_key(alice: Account) -> None:
    created = create(alice)["sshKey"]
    r = alice.delete(f"{BASE}/{created['id']}")
    assert r.status_code == 200
    assert r.text == '{"success":true,"message":"SSH key has been removed successfully"}'
    assert alice.get(BASE).json() == {"success": True, "total": 0, "sshkeys": []}
    again = alice.delete(f"{BASE}/{created['id']}")
    assert again.status_code == 404


def test_unknown_ids_are_404_for_every_verb(alice: Account) -> None:
    expected = {"success": False, "errorMessage": "SSH key not found.", "errorCode": "A4041"}
    for path in ("999999", "0", "abc", "-1", "1.0", "9" * 30):
        for r in (
            alice.get(f"{BASE}/{path}"),
            alice.put(f"{BASE}/{path}", {"sshName": "x"}),
            alice.delete(f"{BASE}/{path}"),
        ):
            assert (r.status_code, r.json()) == (404, expected), path


def test_ed25519_is_refused_with_I10034(alice: Account) -> None:
    r = alice.post(BASE, {"sshName": "edkey", "sshKey": ed25519_public()})
    assert r.status_code == 400
    assert r.text == '{"success":false,"errorMessage":"Invalid SSH key.","errorCode":"I10034"}'
    assert alice.get(BASE).json()["total"] == 0


def test_ecdsa_is_refused_by_default(alice: Account) -> None:
    r = alice.post(BASE, {"sshName": "ec", "sshKey": ecdsa_public()})
    assert (r.status_code, r.json()) == (400, INVALID_KEY)


def test_modern_keys_are_accepted_when_configured(alice: Account, rt: Runtime) -> None:
    rt.settings.accept_ed25519 = True
    for key in (ed25519_public(), ecdsa_public()):
        body = create(alice, "modern", key)
        assert body["sshKey"]["sshkey"] == key


UNPARSABLE = [
    "",
    "ssh-rsa",
    "AAAAB3NzaC1yc2EAAAADAQABAAABAQC",
    "ssh-rsa not-base64!!",
    "ssh-rsa AAAA",
    "ssh-dss AAAAB3NzaC1kc3MAAACBAP",
    "-----BEGIN RSA PUBLIC KEY-----",
]


def test_unparsable_keys_are_refused_with_I10034(alice: Account) -> None:
    for key in UNPARSABLE:
        r = alice.post(BASE, {"sshName": "bad", "sshKey": key})
        assert (r.status_code, r.json()) == (400, INVALID_KEY), key


def test_rsa_key_type_must_match_its_blob(alice: Account) -> None:
    blob = ed25519_public().split()[1]
    r = alice.post(BASE, {"sshName": "bad", "sshKey": f"ssh-rsa {blob}"})
    assert (r.status_code, r.json()) == (400, INVALID_KEY)


def test_rsa_below_1024_bits_is_refused(alice: Account) -> None:
    r = alice.post(BASE, {"sshName": "weak", "sshKey": weak_rsa_public(768)})
    assert (r.status_code, r.json()) == (400, INVALID_KEY)
    assert alice.post(BASE, {"sshName": "ok", "sshKey": rsa_public(1024)}).status_code == 201


def test_a_key_with_a_comment_is_refused_by_default(alice: Account) -> None:
    r = alice.post(BASE, {"sshName": "c", "sshKey": rsa_public() + " user1@example.com"})
    assert (r.status_code, r.json()) == (400, INVALID_KEY)


def test_comments_are_kept_when_configured(alice: Account, rt: Runtime) -> None:
    rt.settings.sshkey_comments = "keep"
    key = rsa_public() + " user1@example.com"
    created = create(alice, "c", key)["sshKey"]
    assert created["sshkey"] == key
    assert alice.get(f"{BASE}/{created['id']}").json()["sshKey"][0]["sshkey"] == key


def test_surrounding_whitespace_is_trimmed(alice: Account) -> None:
    key = rsa_public()
    assert create(alice, "ws", f"  {key}\n")["sshKey"]["sshkey"] == key


def test_the_same_key_may_be_registered_twice(alice: Account) -> None:
    key = rsa_public()
    a = create(alice, "one", key)["sshKey"]
    b = create(alice, "two", key)["sshKey"]
    assert a["id"] != b["id"]
    assert alice.get(BASE).json()["total"] == 2


FIELD_ERRORS: list[tuple[dict[str, Any], str, str | None]] = [
    ({"sshKey": "x"}, "A4001", "The sshName field is required."),
    ({"sshName": "x"}, "A4001", "The sshKey field is required."),
    ({}, "A4001", "The sshName field is required."),
    ({"sshName": 5, "sshKey": "x"}, "A4002", None),
    ({"sshName": "x", "sshKey": ["ssh-rsa"]}, "A4002", None),
    ({"sshName": "", "sshKey": "x"}, "A4002", "The sshName field must not be empty."),
    ({"sshName": "n" * 256, "sshKey": "x"}, "A4002", None),
]


def test_create_validates_fields(alice: Account) -> None:
    for body, code, message in FIELD_ERRORS:
        r = alice.post(BASE, body)
        assert r.status_code == 400, body
        got = r.json()
        assert list(got) == ["success", "errorMessage", "errorCode"]
        assert got["success"] is False and got["errorCode"] == code, body
        if message:
            assert got["errorMessage"] == message
    assert alice.get(BASE).json()["total"] == 0


def test_names_round_trip_non_ascii(alice: Account) -> None:
    created = create(alice, "鍵 キー")["sshKey"]
    r = alice.get(f"{BASE}/{created['id']}")
    assert r.json()["sshKey"][0]["name"] == "鍵 キー"
    assert "\\u9375" in r.text  # PHP's json_encode escapes non-ASCII


def test_timestamps_follow_the_server_clock_in_utc(alice: Account, rt: Runtime) -> None:
    rt.clock.advance(3000)  # within the token's lifetime
    before = rt.clock.now().replace(microsecond=0)
    created = create(alice)["sshKey"]
    after = rt.clock.now()
    stamp = datetime.strptime(created["created_at"], "%Y-%m-%d %H:%M:%S")
    assert before <= stamp <= after
