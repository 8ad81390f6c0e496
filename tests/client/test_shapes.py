"""The plain shapes (aiiro.client_core.shapes) are the one home of the field quirks: the models
are built from them and print as them, field for field and in order, on the facts file's
bodies; and each time form the API sends reads as one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from aiiro.client import models
from aiiro.client_core import shapes
from aiiro.client_core.tokens import file_name
from tests.client.test_quirks import CREATE_ANSWER, LIST_ELEMENT, PROVISIONING_ELEMENT

SSHKEY = (
    '{"id":40277,"service_id":"idg-00012345","user_id":2130,"name":"testsshkeyname",'
    '"sshkey":"ssh-rsa AAAA...","status":"ACTIVE","created_at":"2024-10-11 22:01:18",'
    '"updated_at":"2024-10-11 22:01:18"}'
)
APIKEY = '{"id":7574,"apiKey":"<key>","created_at":"2024-10-08 23:22:50"}'
FIREWALL = (
    '{"id":12836,"service_id":"idg-00000000","user_id":1,"name":"APItest","status":1,'
    '"created_at":"2022-11-10 12:00:00","updated_at":"2022-12-01 13:00:00"}'
)
SNAPSHOT = (
    '{"id":12089,"name":"APItest","service_id":"idg-00012345","user_id":"2130",'
    '"disk_id":123456,"volume":12,"slot_number":0,"status":"running","size":"",'
    '"deleted":0,"completed_timestamp":"0000-00-00 00:00:00",'
    '"deleted_timestamp":"0000-00-00 00:00:00"}'
)
PLAN = (
    '{"id":13,"code":"1vCPU768MB20GB","name":"Memory768MB,1vCPU,SSD20GB",'
    '"instancetype_id":1,"ipaddress_type":"ipv6","kvm_resources":{"id":85,"plan_id":13,'
    '"name":"1CR768MB","param":"vcpus","limitnum":1}}'
)

CASES: list[tuple[Callable[[Any], Any], Callable[[Any], dict[str, Any]], str]] = [
    (models.Instance.from_api, shapes.instance, LIST_ELEMENT),
    (models.Instance.from_api, shapes.instance, PROVISIONING_ELEMENT),
    (models.Instance.from_api, shapes.instance, json.dumps(json.loads(CREATE_ANSWER)["vms"])),
    (models.SshKey.from_api, shapes.sshkey, SSHKEY),
    (models.ApiKey.from_api, shapes.apikey, APIKEY),
    (models.Firewall.from_api, shapes.firewall, FIREWALL),
    (models.Snapshot.from_api, shapes.snapshot, SNAPSHOT),
    (models.Plan.from_api, shapes.plan, PLAN),
]


@pytest.mark.parametrize(("model", "shape", "body"), CASES)
def test_models_print_as_their_shapes(
    model: Callable[[Any], Any], shape: Callable[[Any], dict[str, Any]], body: str
) -> None:
    raw = json.loads(body)
    plain = models.to_dict(model(raw))
    assert plain == shape(raw)
    assert list(plain) == list(shape(raw))  # the order the CLI prints
    json.dumps(shape(raw))  # and JSON-able as it is


def test_the_list_element_plainly() -> None:
    """§4.4, quirk 12, as the CLI's list command prints it."""
    plain = shapes.instance(json.loads(LIST_ELEMENT))
    assert plain["ip"] == "2001:2c0:100:417:18:cafe:8d:1"
    assert plain["arpaname"] == "2001:02C0:0100:0417:0018:CAFE:008D:0001.pro.static.arena.ne.jp"
    assert (plain["created_by"], plain["vps_kind"], plain["memsize"]) == (
        "Firstname Lastname",
        10,
        0.768,
    )
    assert plain["created_at"] == "2024-10-09 20:26:06"
    assert plain["os"]["category_id"] == 8


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ("2024-10-09 20:26:06", "2024-10-09 20:26:06"),
        (" 2024-10-09 20:26:06 ", "2024-10-09 20:26:06"),
        ("2024-10-09T20:26:06", "2024-10-09 20:26:06"),
        # createinstance: a PHP DateTime with microseconds; whole seconds, as the list says.
        (
            {"date": "2024-10-09 20:26:06.875022", "timezone_type": 3, "timezone": "UTC"},
            "2024-10-09 20:26:06",
        ),
        ("2024-10-09", "2024-10-09 00:00:00"),
        ("2024-02-29 00:00:00", "2024-02-29 00:00:00"),
        ("0000-00-00 00:00:00", None),  # snapshots until done
        ("2023-02-29 00:00:00", None),
        ("2024-13-01 00:00:00", None),
        ("2024-10-09 24:00:00", None),
        ("2024-10-09 20:26:06+09:00", None),
        ("2024-10-09 20:26:06.", None),
        ("yesterday", None),
        ("", None),
        (None, None),
        (1728505630, None),
    ],
)
def test_time_forms(value: Any, plain: str | None) -> None:
    assert shapes.as_time(value) == plain


def test_list_answers_keep_their_arrays_in_different_places() -> None:
    """§4.1.1 `sshkeys` (`ssh_keys` in the docs' prose), §3 `accesstokens`, bare arrays."""
    element = {"id": 1}
    assert shapes.SSHKEYS.elements({"success": True, "sshkeys": [element]}) == [element]
    assert shapes.SSHKEYS.elements({"ssh_keys": [element, "junk"]}) == [element]
    assert shapes.APIKEYS.elements({"accesstokens": [element]}) == [element]
    assert shapes.INSTANCES.elements([element]) == [element]
    for empty in (None, {}, {"sshkeys": None}, "", [1, "x"]):
        assert shapes.INSTANCES.elements(empty) == shapes.SSHKEYS.elements(empty) == []


def test_token_file_names() -> None:
    """Stable between runs and versions (or every cached token is lost), one per endpoint
    and key, and the key not shown."""
    name = file_name("https://api.customer.jp", "k3yk3yk3y")
    assert name == "37df7da7be629fac.json"
    assert name != file_name("https://api.customer.jp", "other")
    assert name != file_name("http://127.0.0.1:8080", "k3yk3yk3y")


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("2001:02C0:0100:0417:0018:CAFE:008D:0001", "2001:2c0:100:417:18:cafe:8d:1"),
        ("0000:0000:0000:0000:0000:0000:0000:0000", "::"),
        ("0001:0000:0000:0000:0000:0000:0000:0000", "1::"),
        ("2001:0DB8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"),
        ("2001:0DB8:0000:0001:0000:0000:0000:0001", "2001:db8:0:1::1"),
        ("2001:db8:0:1:0:1:0:1", "2001:db8:0:1:0:1:0:1"),
        ("198.18.16.82", "198.18.16.82"),
        ("2001:db8:::1", "2001:db8:::1"),  # not an address: kept as sent
        ("", None),
        (None, None),
    ],
)
def test_ipv6_compressed_and_lower_case(sent: str | None, shown: str | None) -> None:
    """Quirk 12: uppercase, zero-padded IPv6 from the API, shown as RFC 5952 writes it."""
    assert shapes.as_ip(sent) == shown
