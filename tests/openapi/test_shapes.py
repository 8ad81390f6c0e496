"""Every documented success shape, checked against real answers: a walk through every
Indigo endpoint (the fuzzer mostly meets errors; this meets the successes), each answer
validated against the response schema the document gives for its status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from starlette.testclient import TestClient

from aiiro.config import Settings
from aiiro.serve import build_app
from tests.api import instance_helpers as ih
from tests.api.keygen import rsa_public
from tests.conftest import Account

V1 = "/webarenaIndigo/v1"


class Document:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.checked: set[tuple[str, str, int]] = set()

    def check(self, method: str, path: str, r: httpx.Response) -> Any:
        """Validate the answer against the document; return its JSON."""
        op = self.doc["paths"][path][method]
        status = str(r.status_code)
        assert status in op["responses"], f"{method} {path}: {status} not documented: {r.text}"
        schema = op["responses"][status]["content"]["application/json"]["schema"]
        body = r.json()
        jsonschema.validate(
            body,
            {**schema, "components": self.doc["components"]},
            cls=jsonschema.Draft202012Validator,
        )
        self.checked.add((method, path, r.status_code))
        return body


@pytest.fixture
def doc(client: TestClient) -> Document:
    return Document(client.get("/openapi.json").json())


def test_every_success_shape_matches_the_document(
    doc: Document, client: TestClient, alice: Account, admin_headers: dict[str, str]
) -> None:
    c = doc.check
    # tokens and API keys
    new = c("get", f"{V1}/auth/create/apikey", alice.get(f"{V1}/auth/create/apikey"))
    c(
        "post",
        "/oauth/v1/accesstokens",
        client.post(
            "/oauth/v1/accesstokens",
            json={"grantType": "client_credentials", "clientId": new["apiKey"],
                  "clientSecret": new["apiSecret"], "code": ""},
        ),
    )  # fmt: skip
    keys = c("get", f"{V1}/auth/apikey", alice.get(f"{V1}/auth/apikey"))["accesstokens"]
    other = next(k["id"] for k in keys if k["apiKey"] == new["apiKey"])
    c("delete", f"{V1}/auth/apikey/{{apikey_id}}", alice.delete(f"{V1}/auth/apikey/{other}"))

    # SSH keys
    sk = c(
        "post",
        f"{V1}/vm/sshkey",
        alice.post(f"{V1}/vm/sshkey", {"sshName": "k", "sshKey": rsa_public()}),
    )["sshKey"]["id"]
    c("get", f"{V1}/vm/sshkey", alice.get(f"{V1}/vm/sshkey"))
    c("get", f"{V1}/vm/sshkey/active/status", alice.get(f"{V1}/vm/sshkey/active/status"))
    c("get", f"{V1}/vm/sshkey/{{key_id}}", alice.get(f"{V1}/vm/sshkey/{sk}"))

    # catalogue
    c("get", f"{V1}/vm/instancetypes", alice.get(f"{V1}/vm/instancetypes"))
    for t in (1, 2):
        c("get", f"{V1}/vm/getregion", alice.get(f"{V1}/vm/getregion?instanceTypeId={t}"))
        c("get", f"{V1}/vm/oslist", alice.get(f"{V1}/vm/oslist?instanceTypeId={t}"))
    for q in ("instanceTypeId=1&osId=22", "instanceTypeId=1&osId=11", "instanceTypeId=9"):
        c("get", f"{V1}/vm/getinstancespec", alice.get(f"{V1}/vm/getinstancespec?{q}"))

    # instances, every command
    created = c("post", f"{V1}/vm/createinstance", ih.create(alice, sk, "shapes"))
    iid = created["vms"]["id"]
    listing = c("get", f"{V1}/vm/getinstancelist", alice.get(f"{V1}/vm/getinstancelist"))
    assert listing[0]["id"] == iid
    su = f"{V1}/vm/instance/statusupdate"
    for cmd in ("start", "reset", "stop", "start", "forcestop"):
        c("post", su, ih.command(alice, iid, cmd))

    # firewalls
    rule = {"type": "Custom", "protocol": "TCP", "port": "22", "source": "0.0.0.0"}
    fw = c(
        "post",
        f"{V1}/nw/createfirewall",
        alice.post(f"{V1}/nw/createfirewall", {"name": "f", "inbound": [rule]}),
    )["firewallId"]
    c("get", f"{V1}/nw/getfirewalllist", alice.get(f"{V1}/nw/getfirewalllist"))
    c("get", f"{V1}/nw/gettemplate/{{firewall_id}}", alice.get(f"{V1}/nw/gettemplate/{fw}"))
    for templateid in (str(fw), fw):
        c(
            "put",
            f"{V1}/nw/updatefirewall",
            alice.put(f"{V1}/nw/updatefirewall", {"templateid": templateid, "outbound": [rule]}),
        )
    c(
        "post",
        f"{V1}/nw/assign",
        alice.post(f"{V1}/nw/assign", {"instanceid": iid, "templateid": fw}),
    )
    dfw = f"{V1}/nw/deletefirewall/{{firewall_id}}"
    c("delete", dfw, alice.delete(f"{V1}/nw/deletefirewall/{fw}"))  # F60009: assigned
    spare = alice.post(f"{V1}/nw/createfirewall", {"name": "spare"}).json()["firewallId"]
    c("delete", dfw, alice.delete(f"{V1}/nw/deletefirewall/{spare}"))

    # snapshots
    d = f"{V1}/disk"
    c(
        "post",
        f"{d}/takesnapshot",
        alice.post(f"{d}/takesnapshot", {"name": "s", "instanceid": iid}),
    )
    snaps = c("get", f"{d}/snapshotlist/{{instance_id}}", alice.get(f"{d}/snapshotlist/{iid}"))
    sid = snaps[0]["id"]
    ref = {"instanceid": str(iid), "snapshotid": str(sid)}
    c("post", f"{d}/restoresnapshot", alice.post(f"{d}/restoresnapshot", ref))
    client.post("/_aiiro/faults", json={"action": "snapshot_fails", "count": 1},
                headers=admin_headers)  # fmt: skip
    alice.post(f"{d}/takesnapshot", {"name": "t", "instanceid": iid, "slotnum": 1})
    failed = next(x for x in alice.get(f"{d}/snapshotlist/{iid}").json() if x["name"] == "t")
    c("get", f"{d}/snapshotlist/{{instance_id}}", alice.get(f"{d}/snapshotlist/{iid}"))
    retake = {"instanceid": iid, "snapshotid": failed["id"]}
    c("post", f"{d}/retakesnapshot", alice.post(f"{d}/retakesnapshot", retake))
    from_snap = ih.create(alice, sk, "copy", snapshotId=str(sid), regionId=None, osId=None)
    c("post", f"{V1}/vm/createinstance", from_snap)
    c("delete", f"{d}/deletesnapshot/{{snapshot_id}}", alice.delete(f"{d}/deletesnapshot/{sid}"))

    # destroy last, then the key can go
    c("post", su, ih.command(alice, iid, "destroy"))
    update = {"sshName": "k2", "sshKey": rsa_public(), "sshKeyStatus": "ACTIVE"}
    c("put", f"{V1}/vm/sshkey/{{key_id}}", alice.put(f"{V1}/vm/sshkey/{sk}", update))
    c("delete", f"{V1}/vm/sshkey/{{key_id}}", alice.delete(f"{V1}/vm/sshkey/{sk}"))

    successes = {(m, p) for m, p, status in doc.checked if status < 300}
    documented = {
        (m, p)
        for p, ops in doc.doc["paths"].items()
        if p.startswith(("/webarenaIndigo/", "/oauth/"))
        for m in ops
    }
    assert successes == documented


def test_error_shapes_match_the_document(doc: Document, client: TestClient, alice: Account) -> None:
    c = doc.check
    c("get", f"{V1}/nw/gettemplate/{{firewall_id}}", alice.get(f"{V1}/nw/gettemplate/12345"))
    c("post", f"{V1}/nw/createfirewall", alice.post(f"{V1}/nw/createfirewall", raw="{nope"))
    c("get", f"{V1}/vm/getinstancelist", client.get(f"{V1}/vm/getinstancelist"))  # no token
    c(
        "post",
        "/oauth/v1/accesstokens",
        client.post("/oauth/v1/accesstokens", json={"clientId": "x", "clientSecret": "y"}),
    )
    statuses = {status for _, _, status in doc.checked}
    assert statuses == {400, 401, 404}


def test_the_quota_answer_matches_the_document(tmp_path: Path, database_url: str) -> None:
    app = build_app(Settings(data_dir=tmp_path, database_url=database_url, profile="instant",
                             admin_token="shapes-admin-token", worker=False,
                             quota=True))  # fmt: skip
    with TestClient(app, base_url="http://aiiro.test") as client:
        from tests.conftest import make_account

        acct = make_account(app.state.runtime, client)
        doc = Document(client.get("/openapi.json").json())
        answers = [acct.get(f"{V1}/nw/getfirewalllist") for _ in range(8)]
        limited = [r for r in answers if r.status_code == 429]
        assert limited, [r.status_code for r in answers]
        doc.check("get", f"{V1}/nw/getfirewalllist", limited[0])
    app.state.runtime.db.dispose()
