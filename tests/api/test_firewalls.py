"""Firewall templates over the Indigo API: bodies and codes as observed (facts §5)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from aiiro.domain import firewalls
from aiiro.engine.worker import Engine
from aiiro.store.models import Instance, Operation
from tests.api import instance_helpers as ih
from tests.conftest import Account

NW = "/webarenaIndigo/v1/nw"
HTTP = {"type": "HTTP", "protocol": "TCP", "port": "80", "source": "0.0.0.0"}
HTTPS = {"type": "HTTPS", "protocol": "TCP", "port": "443", "source": "0.0.0.0"}
SSH_ONE = {"type": "Custom", "protocol": "TCP", "port": "22", "source": "203.0.113.5"}
NTP_OUT = {"type": "Custom", "protocol": "UDP", "port": "123", "source": "0.0.0.0"}


def create(acct: Account, **body: Any) -> int:
    r = acct.post(f"{NW}/createfirewall", {"name": "fw", "inbound": [HTTP], **body})
    assert r.status_code == 200, r.text
    return int(r.json()["firewallId"])


def test_create_answers_f60002_with_an_int_id(alice: Account) -> None:
    r = alice.post(f"{NW}/createfirewall", {"name": "APItest", "inbound": [HTTP, HTTPS]})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["success", "message", "sucessCode", "firewallId"]
    assert body["success"] is True
    assert body["message"] == "Firewall template has been created successfully."
    assert body["sucessCode"] == "F60002"
    assert isinstance(body["firewallId"], int)


def test_list_is_a_bare_array_with_int_status(alice: Account) -> None:
    assert alice.get(f"{NW}/getfirewalllist").json() == []
    fw_id = create(alice, name="default")
    items = alice.get(f"{NW}/getfirewalllist").json()
    assert len(items) == 1
    item = items[0]
    assert list(item) == [
        "id",
        "service_id",
        "user_id",
        "name",
        "status",
        "created_at",
        "updated_at",
    ]
    assert item["id"] == fw_id and item["name"] == "default" and item["status"] == 1
    assert item["user_id"] == alice.id and item["service_id"] == f"idg-{alice.id:08d}"


def test_gettemplate_is_an_array_of_rules_in_the_order_sent(alice: Account) -> None:
    fw_id = create(alice, name="APItest", inbound=[HTTP, HTTPS], outbound=[NTP_OUT])
    r = alice.get(f"{NW}/gettemplate/{fw_id}")
    assert r.status_code == 200
    assert r.json() == [
        {
            "id": fw_id,
            "name": "APItest",
            "direction": "in",
            "type": "HTTP",
            "protocol": "TCP",
            "port": "80",
            "source": "0.0.0.0",
        },
        {
            "id": fw_id,
            "name": "APItest",
            "direction": "in",
            "type": "HTTPS",
            "protocol": "TCP",
            "port": "443",
            "source": "0.0.0.0",
        },
        {
            "id": fw_id,
            "name": "APItest",
            "direction": "out",
            "type": "Custom",
            "protocol": "UDP",
            "port": "123",
            "source": "0.0.0.0",
        },
    ]


def test_cidr_source_comes_back_php_escaped(alice: Account) -> None:
    rule = {"type": "Custom", "protocol": "TCP", "port": "22", "source": "0.0.0.0/0"}
    fw_id = create(alice, inbound=[rule])
    r = alice.get(f"{NW}/gettemplate/{fw_id}")
    assert '"source":"0.0.0.0\\/0"' in r.text
    assert r.json()[0]["source"] == "0.0.0.0/0"


def test_empty_template_is_an_empty_array(alice: Account) -> None:
    fw_id = create(alice, inbound=[])
    assert alice.get(f"{NW}/gettemplate/{fw_id}").json() == []
    # name alone (no inbound key) is a template with no rules too
    r = alice.post(f"{NW}/createfirewall", {"name": "bare"})
    assert alice.get(f"{NW}/gettemplate/{r.json()['firewallId']}").json() == []


def test_update_replaces_the_rules_and_echoes_the_id_as_sent(alice: Account) -> None:
    fw_id = create(alice, name="APItest", inbound=[HTTP], outbound=[NTP_OUT])
    r = alice.put(
        f"{NW}/updatefirewall",
        {"templateid": str(fw_id), "name": "renamed", "inbound": [SSH_ONE, HTTPS]},
    )
    assert r.status_code == 200
    assert r.json() == {
        "success": True,
        "message": "Firewall template is updated successfully.",
        "sucessCode": "F6004",
        "firewallId": str(fw_id),
    }
    rules = alice.get(f"{NW}/gettemplate/{fw_id}").json()
    assert [(x["name"], x["direction"], x["port"]) for x in rules] == [
        ("renamed", "in", "22"),
        ("renamed", "in", "443"),
    ]
    # an id sent as a number comes back as that number
    r = alice.put(f"{NW}/updatefirewall", {"templateid": fw_id, "inbound": []})
    assert r.json()["firewallId"] == fw_id
    assert alice.get(f"{NW}/gettemplate/{fw_id}").json() == []


def test_update_keeps_created_at_and_moves_updated_at(alice: Account, rt: Any) -> None:
    fw_id = create(alice)
    before = alice.get(f"{NW}/getfirewalllist").json()[0]
    rt.clock.advance(5)
    alice.put(f"{NW}/updatefirewall", {"templateid": str(fw_id), "inbound": [HTTPS]})
    after = alice.get(f"{NW}/getfirewalllist").json()[0]
    assert after["created_at"] == before["created_at"]
    assert after["updated_at"] > before["updated_at"]


def test_delete_answers_f6005_and_the_template_is_gone(alice: Account) -> None:
    fw_id = create(alice)
    r = alice.delete(f"{NW}/deletefirewall/{fw_id}")
    assert r.status_code == 200
    assert r.json() == {
        "success": True,
        "message": "Firewall template has been deleted successfully.",
        "sucessCode": "F6005",
    }
    assert alice.get(f"{NW}/getfirewalllist").json() == []
    assert alice.get(f"{NW}/gettemplate/{fw_id}").status_code == 404
    assert alice.delete(f"{NW}/deletefirewall/{fw_id}").status_code == 404
    # ids are not handed out again
    assert create(alice) > fw_id


@pytest.mark.parametrize(
    "rule",
    [
        {"type": "Custom", "protocol": "SCTP", "port": "22", "source": "0.0.0.0"},
        {"type": "Custom", "protocol": "TCP", "port": "70000", "source": "0.0.0.0"},
        {"type": "Custom", "protocol": "TCP", "port": "22", "source": "anywhere"},
        {"type": "Nope", "protocol": "TCP", "port": "22", "source": "0.0.0.0"},
        "TCP/22",
    ],
)
def test_bad_rules_get_an_indigo_shaped_400_and_change_nothing(alice: Account, rule: Any) -> None:
    r = alice.post(f"{NW}/createfirewall", {"name": "bad", "inbound": [HTTP, rule]})
    assert r.status_code == 400
    body = r.json()
    assert list(body) == ["success", "errorMessage", "errorCode"]
    assert body["success"] is False and body["errorCode"] == "A4020"
    assert "inbound[1]" in body["errorMessage"]
    assert alice.get(f"{NW}/getfirewalllist").json() == []

    fw_id = create(alice)
    r = alice.put(f"{NW}/updatefirewall", {"templateid": fw_id, "outbound": [rule]})
    assert r.status_code == 400 and "outbound[0]" in r.json()["errorMessage"]
    assert len(alice.get(f"{NW}/gettemplate/{fw_id}").json()) == 1


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("createfirewall", {"inbound": [HTTP]}),  # no name
        ("createfirewall", {"name": "  "}),
        ("createfirewall", {"name": "x", "inbound": "HTTP"}),
        ("createfirewall", {"name": "x", "instances": ["abc"]}),
        ("updatefirewall", {"name": "x"}),  # no templateid
        ("updatefirewall", {"templateid": "twelve"}),
        ("assign", {"instanceid": "1"}),
        ("assign", {"templateid": [1], "instanceid": "1"}),
    ],
)
def test_malformed_bodies_are_400s(alice: Account, path: str, body: dict[str, Any]) -> None:
    send = alice.put if path == "updatefirewall" else alice.post
    r = send(f"{NW}/{path}", body)
    assert r.status_code == 400, r.text
    assert r.json()["success"] is False


def test_body_without_content_type_and_with_form_content_type(alice: Account) -> None:
    raw = json.dumps({"name": "curl", "inbound": [SSH_ONE]})
    r = alice.post(
        f"{NW}/createfirewall",
        raw=raw,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and r.json()["sucessCode"] == "F60002"


def test_another_accounts_templates_do_not_exist(alice: Account, bob: Account) -> None:
    fw_id = create(alice)
    assert bob.get(f"{NW}/getfirewalllist").json() == []
    for r in (
        bob.get(f"{NW}/gettemplate/{fw_id}"),
        bob.put(f"{NW}/updatefirewall", {"templateid": str(fw_id), "inbound": []}),
        bob.delete(f"{NW}/deletefirewall/{fw_id}"),
    ):
        assert r.status_code == 404
        assert r.json() == {
            "success": False,
            "errorMessage": "Firewall template not found.",
            "errorCode": "A4044",
        }
    assert len(alice.get(f"{NW}/gettemplate/{fw_id}").json()) == 1


@pytest.mark.parametrize("bad_id", ["0", "999999", "abc", "9" * 30])
def test_unknown_template_ids_are_404(alice: Account, bad_id: str) -> None:
    assert alice.get(f"{NW}/gettemplate/{bad_id}").status_code == 404
    assert alice.delete(f"{NW}/deletefirewall/{bad_id}").status_code == 404


# --- assigning, enforcing, the probe -----------------------------------------------------


def probe(client: TestClient, admin_headers: dict[str, str], iid: int, **packet: Any) -> Any:
    params = {"port": 22, "protocol": "TCP", **packet}
    r = client.get(f"/_aiiro/instances/{iid}/probe", params=params, headers=admin_headers)
    assert r.status_code == 200, r.text
    return r.json()


def admitted(client: TestClient, admin_headers: dict[str, str], iid: int, **packet: Any) -> bool:
    return bool(probe(client, admin_headers, iid, **packet)["admitted"])


@pytest.fixture
def running(alice: Account) -> int:
    """A running instance of alice's."""
    iid = ih.create_id(alice, ih.register_key(alice))
    assert ih.command(alice, iid, "start").status_code == 200
    assert ih.shown(alice, iid) == "Running"
    return iid


def test_no_template_admits_everything(
    client: TestClient, admin_headers: dict[str, str], running: int
) -> None:
    out = probe(client, admin_headers, running, source="198.51.100.9", port=8080)
    assert out["admitted"] is True
    assert "no firewall template" in out["reason"]


def test_create_with_instances_assigns_and_the_driver_enforces_it(
    client: TestClient, admin_headers: dict[str, str], alice: Account, running: int
) -> None:
    create(alice, inbound=[SSH_ONE], instances=[str(running)])
    assert admitted(client, admin_headers, running, source="203.0.113.5", port=22)
    assert not admitted(client, admin_headers, running, source="203.0.113.6", port=22)
    assert not admitted(client, admin_headers, running, source="203.0.113.5", port=80)
    # no outbound rules: everything outbound goes
    assert admitted(client, admin_headers, running, source="192.0.2.1", port=443, direction="out")


def test_assign_answers_f60003_and_replaces_the_instances_template(
    client: TestClient, admin_headers: dict[str, str], alice: Account, running: int
) -> None:
    ssh_only = create(alice, inbound=[SSH_ONE], instances=[running])
    web_only = create(alice, inbound=[HTTP])
    r = alice.post(f"{NW}/assign", {"instanceid": str(running), "templateid": str(web_only)})
    assert r.status_code == 200
    assert r.json() == {
        "success": True,
        "message": "Firewall template is assigned successfully.",
        "sucessCode": "F60003",
    }
    assert admitted(client, admin_headers, running, source="198.51.100.1", port=80)
    assert not admitted(client, admin_headers, running, source="203.0.113.5", port=22)
    # the old template is no longer assigned to anything: it can go
    assert alice.delete(f"{NW}/deletefirewall/{ssh_only}").json()["sucessCode"] == "F6005"
    assert alice.delete(f"{NW}/deletefirewall/{web_only}").json()["errorCode"] == "F60009"


def test_update_applies_the_new_rules_to_every_holder(
    client: TestClient, admin_headers: dict[str, str], alice: Account, running: int
) -> None:
    fw_id = create(alice, inbound=[SSH_ONE], instances=[running])
    alice.put(f"{NW}/updatefirewall", {"templateid": str(fw_id), "inbound": [HTTP]})
    assert admitted(client, admin_headers, running, source="198.51.100.1", port=80)
    assert not admitted(client, admin_headers, running, source="203.0.113.5", port=22)
    alice.put(
        f"{NW}/updatefirewall",
        {"templateid": str(fw_id), "inbound": [HTTP], "outbound": [NTP_OUT]},
    )
    assert admitted(
        client,
        admin_headers,
        running,
        source="192.0.2.1",
        port=123,
        protocol="UDP",
        direction="out",
    )
    assert not admitted(
        client, admin_headers, running, source="192.0.2.1", port=443, direction="out"
    )


def test_update_instances_assigns_the_listed_and_keeps_the_omitted(
    client: TestClient, admin_headers: dict[str, str], alice: Account, running: int
) -> None:
    other = ih.create_id(alice, ih.register_key(alice, "second"), name="other")
    ih.command(alice, other, "start")
    fw_id = create(alice, inbound=[SSH_ONE], instances=[running])
    r = alice.put(
        f"{NW}/updatefirewall",
        {"templateid": str(fw_id), "inbound": [HTTP], "instances": [str(other)]},
    )
    assert r.status_code == 200
    for iid in (running, other):  # both hold the template, with its new rules
        assert admitted(client, admin_headers, iid, source="198.51.100.1", port=80)
        assert not admitted(client, admin_headers, iid, source="203.0.113.5", port=22)


def test_delete_refused_while_assigned_to_an_active_instance_until_destroyed(
    alice: Account, running: int
) -> None:
    fw_id = create(alice, instances=[running])
    r = alice.delete(f"{NW}/deletefirewall/{fw_id}")
    assert r.status_code == 400
    assert r.json() == {
        "success": False,
        "errorMessage": "This firewall template has already been assigned to an active instance.",
        "errorCode": "F60009",
    }
    ih.command(alice, running, "stop")
    assert alice.delete(f"{NW}/deletefirewall/{fw_id}").json()["errorCode"] == "F60009"
    assert ih.command(alice, running, "destroy").json()["sucessCode"] == "I20010"
    r = alice.delete(f"{NW}/deletefirewall/{fw_id}")
    assert r.status_code == 200 and r.json()["sucessCode"] == "F6005"


def test_assign_while_provisioning_is_refused(alice: Account, rt: Any, engine: Engine) -> None:
    ih.use_profile(engine, "fast")
    iid = ih.create_id(alice, ih.register_key(alice))
    assert ih.shown(alice, iid) == "OS installation In Progress"
    fw_id = create(alice)
    r = alice.post(f"{NW}/assign", {"instanceid": iid, "templateid": fw_id})
    assert r.status_code == 400 and r.json()["errorCode"] == "A4021"
    r = alice.post(f"{NW}/createfirewall", {"name": "early", "instances": [str(iid)]})
    assert r.status_code == 400 and r.json()["errorCode"] == "A4021"
    assert len(alice.get(f"{NW}/getfirewalllist").json()) == 1  # nothing half-made
    ih.advance(rt, 5)
    assert ih.shown(alice, iid) == "Stopped"
    assert alice.post(f"{NW}/assign", {"instanceid": iid, "templateid": fw_id}).status_code == 200


def test_assign_to_unknown_or_foreign_instances_is_404(
    alice: Account, bob: Account, running: int
) -> None:
    fw_bob = create(bob)
    for body in (
        {"instanceid": str(running), "templateid": str(fw_bob)},  # alice's instance
        {"instanceid": "999999", "templateid": str(fw_bob)},
    ):
        r = bob.post(f"{NW}/assign", body)
        assert r.status_code == 404 and r.json()["errorCode"] == "A4043"
    fw_alice = create(alice)
    r = bob.post(f"{NW}/assign", {"instanceid": str(running), "templateid": str(fw_alice)})
    assert r.status_code == 404


def test_a_stopped_instance_admits_nothing(
    client: TestClient, admin_headers: dict[str, str], alice: Account, running: int
) -> None:
    ih.command(alice, running, "stop")
    out = probe(client, admin_headers, running, source="198.51.100.1", port=22)
    assert out["admitted"] is False and "not running" in out["reason"]


def test_apply_is_recorded_with_the_change_and_run_by_the_engine(
    alice: Account, rt: Any, running: int, engine: Engine
) -> None:
    """Durable: the assignment and its apply_firewall operation commit together; the
    driver sees the rules only when the engine runs the operation."""
    with rt.db.write() as s:
        fw = firewalls.create(rt, s, alice.id, "durable", [SSH_ONE], None, [running])
        fw_id = fw.id
    with rt.db.read() as s:
        pending = s.scalars(
            select(Operation).where(
                Operation.kind == "apply_firewall", Operation.state == "pending"
            )
        ).all()
        assert [op.instance_id for op in pending] == [running]
        state = json.loads(s.get(Instance, running).driver_state)
        assert state.get("firewall") is None
    assert engine.run_due() >= 1
    with rt.db.read() as s:
        state = json.loads(s.get(Instance, running).driver_state)
    assert state["firewall"] == [
        {"direction": "in", "protocol": "TCP", "port": "22", "source": "203.0.113.5"}
    ]
    assert alice.get(f"{NW}/gettemplate/{fw_id}").status_code == 200


def test_probe_needs_the_admin_token_and_a_valid_packet(
    client: TestClient, admin_headers: dict[str, str], alice: Account, running: int
) -> None:
    r = client.get(f"/_aiiro/instances/{running}/probe", params={"source": "192.0.2.1"})
    assert r.status_code == 401
    r = client.get(
        f"/_aiiro/instances/{running}/probe", params={"source": "192.0.2.1"}, headers=alice.auth
    )
    assert r.status_code == 401
    for params in (
        {"source": "nope", "port": 22},
        {"source": "192.0.2.1", "protocol": "GRE"},
        {"source": "192.0.2.1"},
    ):
        r = client.get(f"/_aiiro/instances/{running}/probe", params=params, headers=admin_headers)
        assert r.status_code == 400, params
    r = client.get(
        "/_aiiro/instances/999999/probe", params={"source": "192.0.2.1"}, headers=admin_headers
    )
    assert r.status_code == 404
    r = client.post(
        f"/_aiiro/instances/{running}/probe",
        headers=admin_headers,
        json={"source": "192.0.2.1", "protocol": "ICMP"},
    )
    assert r.status_code == 200 and r.json()["admitted"] is True


def test_assignments_are_an_admin_view(
    client: TestClient, admin_headers: dict[str, str], alice: Account, running: int
) -> None:
    """What the Indigo API never returns (facts §5.2), for the CLI's `firewall list`."""
    assert client.get("/_aiiro/firewalls/assignments").status_code == 401
    assert client.get("/_aiiro/firewalls/assignments", headers=alice.auth).status_code == 401
    r = client.get("/_aiiro/firewalls/assignments", headers=admin_headers)
    assert r.status_code == 200 and r.json() == []
    fw_id = create(alice, instances=[running])
    r = client.get("/_aiiro/firewalls/assignments", headers=admin_headers)
    assert r.json() == [{"instanceId": running, "templateId": fw_id}]


def test_firewall_flow_on_both_databases(
    client: TestClient, admin_headers: dict[str, str], alice: Account, running: int
) -> None:
    fw_id = create(alice, inbound=[SSH_ONE, HTTPS], outbound=[NTP_OUT], instances=[running])
    assert [r["port"] for r in alice.get(f"{NW}/gettemplate/{fw_id}").json()] == [
        "22",
        "443",
        "123",
    ]
    assert admitted(client, admin_headers, running, source="203.0.113.5", port=22)
    alice.put(f"{NW}/updatefirewall", {"templateid": str(fw_id), "inbound": []})
    assert not admitted(client, admin_headers, running, source="203.0.113.5", port=22)
    assert alice.delete(f"{NW}/deletefirewall/{fw_id}").json()["errorCode"] == "F60009"


@pytest.mark.parametrize("huge", [2**31, 2**64, str(10**30), 1e300])
def test_ids_too_large_for_the_store_are_400_not_500(alice: Account, huge: Any) -> None:
    """Found by the schemathesis fuzz: such an id used to reach the database."""
    r = alice.post(f"{NW}/assign", {"instanceid": huge, "templateid": "1"})
    assert r.status_code == 400 and r.json()["errorCode"] == "A4002"


def test_a_template_holds_at_most_100_rules(alice: Account) -> None:
    rules = [{**SSH_ONE, "port": str(1000 + i)} for i in range(101)]
    r = alice.post(
        f"{NW}/createfirewall", {"name": "big", "inbound": rules[:60], "outbound": rules[60:100]}
    )
    assert r.status_code == 200, r.text
    r = alice.post(
        f"{NW}/createfirewall", {"name": "bigger", "inbound": rules[:60], "outbound": rules[60:]}
    )
    assert r.status_code == 400
    assert r.json() == {
        "success": False,
        "errorMessage": "A template holds at most 100 rules.",
        "errorCode": "A4020",
    }
