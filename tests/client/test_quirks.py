"""The SDK absorbs Indigo's shape quirks: each test feeds a body exactly as the facts file
records it (indigo-api-facts.md, section in the test name's docstring) through the SDK and
checks what a user sees."""

from __future__ import annotations

from datetime import datetime

import pytest

from aiiro.client import (
    AuthError,
    InvalidRequest,
    QuotaError,
    StateError,
)
from aiiro.client.models import Instance
from aiiro.client_core.config import Places
from tests.client.fake import FakeIndigo

VM = "/webarenaIndigo/v1/vm"

CREATE_ANSWER = (
    '{"success":true,"message":"Instance has been created successfully","vms":{'
    '"id":616513,"instance_name":"APItest","set_no":18,"vps_kind":"10","sequence_id":616513,'
    '"user_id":2130,"service_id":"idg-00012345","status":"READY","sshkey_id":21633,'
    '"snapshot_id":0,"created_at":{"date":"2024-10-09 20:26:06.875022","timezone_type":3,'
    '"timezone":"UTC"},"host_id":191,"plan_id":13,"plan":"1CR768MB","disk_point":0,'
    '"memsize":0.768,"cpus":1,"os_id":22,"otherstatus":10,"uuid":null,"uidgid":626513,'
    '"vnc_port":0,"vnc_passwd":"abcdefghijklmnop","arpaname":null,"arpadate":0,'
    '"started_at":null,"closed_at":null,"vm_revert":0,"ipaddress":null,"secondary_ip":null,'
    '"macaddress":null,"instancetype_id":1,"import_instance":0,"container_id":null,'
    '"daemonstatus":"","outofstock":0,"ipaddress_type":"ipv6"}}'
)
LIST_ELEMENT = (
    '{"id":616513,"instance_name":"APItest","set_no":18,"vps_kind":10,"sequence_id":616513,'
    '"user_id":2130,"service_id":"idg-00012345","status":"OPEN","sshkey_id":21633,'
    '"snapshot_id":0,"created_at":"2024-10-09 20:26:06","host_id":191,"plan_id":13,'
    '"plan":"1CR768MB","disk_point":0,"memsize":0.768,"cpus":1,"os_id":22,"otherstatus":20,'
    '"uuid":"1b4e28ba-2fa1-11d2-883f-0016d3cca427","uidgid":626513,"vnc_port":11191,'
    '"vnc_passwd":"abcdefghijklmnop",'
    '"arpaname":"2001:02C0:0100:0417:0018:CAFE:008D:0001.pro.static.arena.ne.",'
    '"arpadate":1728505630,"started_at":"2024-10-09 20:27:10","closed_at":null,"vm_revert":0,'
    '"ipaddress":"2001:02C0:0100:0417:0018:cafe:008d:0001","secondary_ip":"",'
    '"macaddress":"00:13:5D:13:69:8A","instancetype_id":1,"import_instance":0,'
    '"container_id":null,"daemonstatus":"","outofstock":0,"ipaddress_type":"ipv6",'
    '"VEID":"18100000616513","os":{"id":22,"categoryid":8,"code":"Debian","name":"Debian12",'
    '"viewname":"Debian 12","instancetype_id":1},'
    '"ip":"2001:02C0:0100:0417:0018:cafe:008d:0001",'
    '"instancecreatedbyuser":"Firstname Lastname ","regionname":"Tokyo",'
    '"instancestatus":"Stopped","instancetype":{"id":1,"name":"instance",'
    '"display_name":"KVM Instance","created_at":"2019-10-09 13:11:20",'
    '"updated_at":"2019-10-09 13:11:20"}}'
)
PROVISIONING_ELEMENT = (
    '{"id":319016,"instance_name":"new","vps_kind":10,"status":"READY","otherstatus":10,'
    '"uuid":null,"vnc_port":0,"arpaname":null,"arpadate":0,"started_at":null,'
    '"ipaddress":null,"macaddress":null,"ip":"","instancestatus":"OS installation In Progress",'
    '"created_at":"2022-04-10 13:24:17","plan":"2CR2GB","memsize":2,"cpus":2}'
)


def test_create_and_list_shapes_give_the_same_instance(fake: FakeIndigo, places: Places) -> None:
    """§4.3/§4.4, quirk 4: vps_kind "10" vs 10, created_at PHP DateTime vs string."""
    fake.on("POST", f"{VM}/createinstance", (201, CREATE_ANSWER))
    # Before the create (the check for a name in use), then after it.
    fake.on("GET", f"{VM}/getinstancelist", (200, "[]"), (200, f"[{LIST_ELEMENT}]"))
    indigo = fake.client(places)
    created = indigo.instances.create("APItest", os=22, plan=13, region=1, ssh_key=21633)
    [listed] = indigo.instances.list()
    assert created.id == listed.id == 616513
    assert created.vps_kind == listed.vps_kind == 10
    # Whole seconds, as the list sends them: the PHP DateTime's microseconds are dropped.
    assert created.created_at == listed.created_at == datetime(2024, 10, 9, 20, 26, 6)
    assert created.instancestatus is None and listed.instancestatus == "Stopped"
    assert created.memsize == listed.memsize == 0.768  # quirk 5: fractional GB
    assert created.status == "READY" and listed.status == "OPEN"
    assert created.ip is None and created.started_at is None


def test_list_element_normalised(fake: FakeIndigo, places: Places) -> None:
    """§4.4, quirk 12: uppercase zero-padded IPv6, arpaname without "jp", trailing space."""
    fake.on("GET", f"{VM}/getinstancelist", (200, f"[{LIST_ELEMENT}, {PROVISIONING_ELEMENT}]"))
    done, installing = fake.client(places).instances.list()
    assert done.ip == "2001:2c0:100:417:18:cafe:8d:1"
    assert done.arpaname == "2001:02C0:0100:0417:0018:CAFE:008D:0001.pro.static.arena.ne.jp"
    assert done.created_by == "Firstname Lastname"
    assert done.region == "Tokyo"
    assert done.os is not None and (done.os.name, done.os.viewname) == ("Debian12", "Debian 12")
    assert done.stopped and done.provisioned and not done.running
    assert done.started_at == datetime(2024, 10, 9, 20, 27, 10)
    assert done.raw["VEID"] == "18100000616513"  # the untouched body stays reachable
    # While provisioning `ip` is "" and `ipaddress` null: both mean "no address".
    assert installing.ip is None and installing.arpaname is None
    assert installing.instancestatus == "OS installation In Progress"
    assert installing.memsize == 2.0


def test_sshkey_object_on_create_array_on_retrieve(fake: FakeIndigo, places: Places) -> None:
    """§4.1.3/§4.1.4, quirk 7."""
    fake.on(
        "POST",
        f"{VM}/sshkey",
        (
            201,
            '{"success":true,"message":"SSH key has been added successfully","sshKey":'
            '{"name":"testsshkeyname","sshkey":"ssh-rsa AAAA","status":"ACTIVE","user_id":2130,'
            '"service_id":"idg-00012345","updated_at":"2024-10-11 22:01:18",'
            '"created_at":"2024-10-11 22:01:18","id":40277}}',
        ),
    )
    fake.on(
        "GET",
        f"{VM}/sshkey/5",
        (
            200,
            '{"success":true,"sshKey":[{"id":5,"service_id":"wsi-000001","user_id":431,'
            '"name":"Example","sshkey":"ssh-rsa ...","status":"ACTIVE",'
            '"created_at":"2018-11-01 17:35:32","updated_at":"2018-11-01 17:35:32"}]}',
        ),
    )
    indigo = fake.client(places)
    created = indigo.sshkeys.create("testsshkeyname", "ssh-rsa AAAA")
    got = indigo.sshkeys.get(5)
    assert (created.id, created.name, created.active) == (40277, "testsshkeyname", True)
    assert (got.id, got.name, got.user_id) == (5, "Example", 431)
    assert got.created_at == datetime(2018, 11, 1, 17, 35, 32)


def test_sshkey_list_key_and_deactive_spelling(fake: FakeIndigo, places: Places) -> None:
    """§4.1.1/§4.1.5: list under `sshkeys`; status DEACTIVE; update's trailing space."""
    listing = (
        '{"success":true,"total":1,"sshkeys":[{"id":40277,"service_id":"idg-00012345",'
        '"user_id":2130,"name":"k","sshkey":"ssh-rsa AAAA","status":"ACTIVE",'
        '"created_at":"2024-10-11 22:01:18","updated_at":"2024-10-11 22:01:18"}]}'
    )
    fake.on("GET", f"{VM}/sshkey", (200, listing))
    fake.on(
        "PUT",
        f"{VM}/sshkey/40277",
        (200, '{"success":true,"message":"SSH key has been updated successfully "}'),
    )
    indigo = fake.client(places)
    out = indigo.sshkeys.deactivate("k")
    assert out.success and out.message == "SSH key has been updated successfully "
    put = fake.sent[-1]
    assert put.content is not None
    import json

    # Every field is sent; the status uses the API's spelling.
    assert json.loads(put.content) == {
        "sshName": "k",
        "sshKey": "ssh-rsa AAAA",
        "sshKeyStatus": "DEACTIVE",
    }


def test_status_update_codes(fake: FakeIndigo, places: Places) -> None:
    """§4.5, quirks 1 and 3: `sucessCode`; stop's success:false + I10025 is accepted."""
    path = f"{VM}/instance/statusupdate"
    fake.on(
        "POST",
        path,
        (
            200,
            '{"success":true,"message":"Instance has started successfully ",'
            '"sucessCode":"I20008","instanceStatus":"running"}',
        ),
        (
            200,
            '{"success":false,"message":"Shutdown of the instance is initiated. It will take '
            'few minutes to complete the shutdown process","sucessCode":"I10025"}',
        ),
    )
    indigo = fake.client(places)
    started = indigo.instances.start(616513)
    stopped = indigo.instances.stop("616513")
    assert (started.success, started.code, started.instance_status) == (True, "I20008", "running")
    assert not started.pending
    assert stopped.success and stopped.pending and stopped.code == "I10025"


def test_state_errors_carry_code_message_and_hint(fake: FakeIndigo, places: Places) -> None:
    """§4.5.1, §4.5.4, §2.6a: 400 with the backend error shape."""
    fake.on(
        "POST",
        f"{VM}/instance/statusupdate",
        (
            400,
            '{"success":false,"errorMessage":"This instance is already running.",'
            '"errorCode":"I10016"}',
        ),
    )
    with pytest.raises(StateError) as caught:
        fake.client(places).instances.start(1)
    err = caught.value
    assert (err.status, err.code, err.message) == (
        400,
        "I10016",
        "This instance is already running.",
    )
    assert err.hint and "already running" in err.hint
    assert str(err) == "I10016: This instance is already running."


def test_out_of_stock_is_an_invalid_request(fake: FakeIndigo, places: Places) -> None:
    fake.on("GET", f"{VM}/getinstancelist", (200, "[]"))
    fake.on(
        "POST",
        f"{VM}/createinstance",
        (400, '{"success":false,"errorMessage":"Out of stock.","errorCode":"I10059"}'),
    )
    with pytest.raises(InvalidRequest) as caught:
        fake.client(places).instances.create("x", os=22, plan=13, region=1, ssh_key=1)
    assert caught.value.code == "I10059" and "out of stock" in (caught.value.hint or "")


def test_gateway_429_body(fake: FakeIndigo, places: Places) -> None:
    """§2.5: the gateway shape, errorCode "429" (a string, the HTTP status), no code kept."""
    body = (
        '{"errorCode": "429", "errorMessage": "Too Many Request.", "developerMessage": '
        '"Rate limit quota violation. Quota limit  exceeded. Identifier : '
        'ffffffff-ffff-4fff-ffff-ffffffffffff", "moreInfo": null, "requestId": "r"}'
    )
    fake.on("GET", f"{VM}/getinstancelist", (429, body, {"X-Request-Id": "r-1"}))
    with pytest.raises(QuotaError) as caught:
        fake.client(places, quota_wait=0).instances.list()
    err = caught.value
    assert (err.status, err.code, err.message, err.request_id) == (
        429,
        None,
        "Too Many Request.",
        "r-1",
    )


def test_token_body_with_odd_spacing(fake: FakeIndigo, places: Places) -> None:
    """§3.1, quirk 9: string expiresIn and issuedAt, " , " spacing, 201."""
    tok = fake.client(places).token()
    assert tok.expires_in == 3599 and tok.issued_at_ms == 1728599792520
    assert tok.expires_at == fake.now + 3599


def test_bad_credentials_name_their_source(fake: FakeIndigo, places: Places) -> None:
    body = (
        '{"errorCode":"401","errorMessage":"Invalid client credentials.",'
        '"developerMessage":"x","moreInfo":null,"requestId":"r"}'
    )
    fake.on("POST", "/oauth/v1/accesstokens", (401, body))
    with pytest.raises(AuthError) as caught:
        fake.client(places).instances.list()
    assert "Invalid client credentials." in caught.value.message
    assert "arguments" in caught.value.message


def test_firewall_ids_int_on_create_string_on_update(fake: FakeIndigo, places: Places) -> None:
    """§5.1/§5.4, quirk 11."""
    nw = "/webarenaIndigo/v1/nw"
    fake.on(
        "POST",
        f"{nw}/createfirewall",
        (
            200,
            '{"success":true,"message":"Firewall template has been created successfully.",'
            '"sucessCode":"F60002","firewallId":12836}',
        ),
    )
    fake.on(
        "GET",
        f"{nw}/getfirewalllist",
        (
            200,
            '[{"id":12836,"service_id":"idg-00000000",'
            '"user_id":1,"name":"APItest","status":1,"created_at":"2022-11-10 12:00:00",'
            '"updated_at":"2022-12-01 13:00:00"}]',
        ),
    )
    fake.on(
        "GET",
        f"{nw}/gettemplate/12836",
        (
            200,
            '[{"id":12836,"name":"APItest","direction":"in","type":"HTTP","protocol":"TCP",'
            '"port":"80","source":"0.0.0.0"},{"id":12836,"name":"APItest","direction":"out",'
            '"type":"Custom","protocol":"UDP","port":"53","source":"0.0.0.0\\/0"}]',
        ),
    )
    fake.on(
        "PUT",
        f"{nw}/updatefirewall",
        (
            200,
            '{"success":true,"message":"Firewall template is updated successfully.",'
            '"sucessCode":"F6004","firewallId":"12836"}',
        ),
    )
    indigo = fake.client(places)
    created = indigo.firewalls.create("APItest")
    updated = indigo.firewalls.update("APItest", name="renamed")
    assert created.firewall_id == updated.firewall_id == 12836
    assert (created.code, updated.code) == ("F60002", "F6004")
    template = indigo.firewalls.get(12836)
    assert template.name == "APItest"
    assert [r.port for r in template.inbound] == ["80"]
    assert template.outbound[0].source == "0.0.0.0/0"
    [listed] = indigo.firewalls.list()
    assert listed.status == 1


def test_snapshot_strings_and_zero_times(fake: FakeIndigo, places: Places) -> None:
    """§6.2, quirk 8: user_id and size strings, size "" while running, zero timestamps."""
    fake.on(
        "GET",
        "/webarenaIndigo/v1/disk/snapshotlist/616516",
        (
            200,
            '[{"id":12089,"name":"APItest","service_id":"idg-00012345","user_id":"2130",'
            '"disk_id":123456,"volume":12,"slot_number":0,"status":"running","size":"",'
            '"deleted":0,"completed_timestamp":"0000-00-00 00:00:00",'
            '"deleted_timestamp":"0000-00-00 00:00:00"},'
            '{"id":12090,"name":"done","service_id":"idg-00012345","user_id":"2130",'
            '"disk_id":123456,"volume":12,"slot_number":0,"status":"created",'
            '"size":"1071529984","deleted":0,"completed_timestamp":"2024-10-09 22:48:52",'
            '"deleted_timestamp":"0000-00-00 00:00:00"}]',
        ),
    )
    running, done = fake.client(places).snapshots.list(616516)
    assert (running.user_id, running.size, running.completed_at) == (2130, None, None)
    assert not running.created and running.instance_id == 616516
    assert done.created and done.size == 1071529984
    assert done.completed_at == datetime(2024, 10, 9, 22, 48, 52)


def test_status_zero_is_success(fake: FakeIndigo, places: Places) -> None:
    """§6, quirk 8: the snapshot endpoints answer {"STATUS":0}."""
    fake.on("DELETE", "/webarenaIndigo/v1/disk/deletesnapshot/12089", (200, '{"STATUS":0}'))
    out = fake.client(places).snapshots.delete(12089)
    assert out.success and out.code is None


def test_snapshot_error_uses_backend_shape(fake: FakeIndigo, places: Places) -> None:
    """§6.4: S10002 while running."""
    disk = "/webarenaIndigo/v1/disk"
    fake.on("GET", f"{VM}/getinstancelist", (200, f"[{LIST_ELEMENT}]"))
    fake.on(
        "GET",
        f"{disk}/snapshotlist/616513",
        (200, '[{"id":1,"name":"s","status":"created","size":"1","user_id":"2130"}]'),
    )
    fake.on(
        "POST",
        f"{disk}/restoresnapshot",
        (
            400,
            '{"success":false,"errorMessage":"Please turn-off Instance before restoring a '
            'snapshot","errorCode":"S10002"}',
        ),
    )
    from aiiro.client import snapshots

    indigo = fake.client(places)
    with pytest.raises(StateError) as caught:
        indigo.call(snapshots.restore_call(616513, 1))
    assert caught.value.code == "S10002" and "stop" in (caught.value.hint or "")


def test_catalogue_names(fake: FakeIndigo, places: Places) -> None:
    """§4.2: `total` counts categories; plan names via kvm_resources.name or code."""
    fake.on(
        "GET",
        f"{VM}/oslist",
        (
            200,
            '{"success":true,"total":2,"osCategory":['
            '{"id":8,"name":"Debian","logo":"Debian.png","osLists":[{"id":22,"categoryid":8,'
            '"code":"Debian","name":"Debian12","viewname":"Debian 12","instancetype_id":1}]},'
            '{"id":3,"name":"Import VM","logo":"ImportVm.png","osLists":[]}]}',
        ),
    )
    fake.on(
        "GET",
        f"{VM}/getinstancespec",
        (
            200,
            '{"success":true,"total":1,"speclist":[{'
            '"id":13,"code":"1vCPU768MB20GB","name":"Memory768MB,1vCPU,SSD20GB",'
            '"description":"<b>1<\\/b> vCPU","use_possible_date":"2022-03-27 00:00:00",'
            '"instancetype_id":1,"ipaddress_type":"ipv6","created_at":"2022-03-28 05:05:16",'
            '"updated_at":"2022-03-28 05:05:16","instance_type":{"id":1,"name":"instance"},'
            '"kvm_resources":{"id":85,"plan_id":13,"name":"1CR768MB","param":"vcpus",'
            '"limitnum":1}}]}',
        ),
    )
    indigo = fake.client(places)
    assert [o.name for o in indigo.catalog.images()] == ["Debian12"]
    for ref in ("Debian12", "Debian 12", "debian-12", 22, "22"):
        assert indigo.catalog.find_os(ref).id == 22
    for ref in ("1CR768MB", "1vCPU768MB20GB", "Memory768MB,1vCPU,SSD20GB", 13):
        plan = indigo.catalog.find_plan(ref, os="Debian12")
        assert (plan.id, plan.resource, plan.cpus) == (13, "1CR768MB", 1)
    assert "osId=22" in fake.sent[-1].url


def test_instance_from_list_keeps_unknown_fields() -> None:
    inst = Instance.from_api({"id": "7", "instance_name": "x", "status": "OPEN", "new": 1})
    assert inst.id == 7 and inst.raw["new"] == 1 and inst.os is None
