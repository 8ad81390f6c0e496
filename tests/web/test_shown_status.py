"""An instance's shown status has one home (domain/instances.shown_status): the API's
getinstancelist and the panel say the same, also for the case where they once did not."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import Visitor, add_key, create, status
from tests.web.test_apikeys import created_pair


def api_status(client: Any, v: Visitor, instance_id: int) -> str:
    """The instance's instancestatus in getinstancelist, with an API key made in the panel."""
    v.get("/panel/apikeys")
    key, secret = created_pair(v.post("/panel/apikeys").text)
    token = client.post(
        "/oauth/v1/accesstokens",
        json={"grantType": "client_credentials", "clientId": key, "clientSecret": secret},
    ).json()["accessToken"]
    listed = client.get(
        "/webarenaIndigo/v1/vm/getinstancelist", headers={"Authorization": f"Bearer {token}"}
    ).json()
    return str(next(i["instancestatus"] for i in listed if int(i["id"]) == instance_id))


def test_an_instance_made_from_a_snapshot_of_an_import_installs_in_api_and_panel(
    alice_web: Visitor, client: Any, admin_headers: dict[str, str]
) -> None:
    key = add_key(alice_web)
    r = create(
        alice_web, name="imported", source="import", importUrl="https://images.example.com/a.qcow2"
    )
    imported = int(r.headers["location"].rsplit("/", 1)[1])
    assert status(alice_web, imported)["instancestatus"] == "Stopped"
    alice_web.get(f"/panel/instances/{imported}")
    alice_web.post(f"/panel/instances/{imported}/snapshots", {"name": "base"})
    page = alice_web.get(f"/panel/instances/{imported}").text
    [snapshot_id] = re.findall(r'data-snapshot-id="(\d+)"', page)
    # Installations take their time from here on (the real service's durations).
    r = client.put("/_aiiro/profile", json={"profile": "faithful"}, headers=admin_headers)
    assert r.status_code == 200

    r = create(alice_web, name="copy", source="snapshot", snapshotId=snapshot_id, sshKeyId=key)
    assert r.status_code == 303, r.text
    copy = int(r.headers["location"].rsplit("/", 1)[1])

    # It installs from the snapshot's disk: nothing is downloaded.
    assert api_status(client, alice_web, copy) == "OS installation In Progress"
    shown = status(alice_web, copy)
    assert (shown["instancestatus"], shown["state"]) == ("OS installation In Progress", "busy")
