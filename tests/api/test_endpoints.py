"""Each Indigo endpoint is declared once (api/endpoint.py); its route, its OpenAPI
operation and its fault-rule name all come from that declaration."""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.routing import Route
from starlette.testclient import TestClient

from aiiro.api.app import endpoints
from aiiro.emulator.faults import endpoint_names


def test_each_endpoint_is_declared_once_and_routed_by_one_route(app: Any) -> None:
    declared = [(e.method, e.path) for e in endpoints()]
    assert len(declared) == 28 == len(set(declared))
    routed = Counter(
        (method, route.path)
        for route in app.router.routes
        if isinstance(route, Route) and route.path.startswith(("/oauth/", "/webarenaIndigo/"))
        for method in route.methods or ()
        if method != "HEAD"
    )
    assert set(routed) == set(declared)
    assert all(count == 1 for count in routed.values())


def test_the_fault_names_are_the_declared_ones() -> None:
    assert endpoint_names() == (
        "accesstokens",
        "create/apikey",
        "apikey",
        "sshkey",
        "sshkey/active/status",
        "instancetypes",
        "getregion",
        "oslist",
        "getinstancespec",
        "createinstance",
        "getinstancelist",
        "statusupdate",
        "createfirewall",
        "getfirewalllist",
        "gettemplate",
        "updatefirewall",
        "assign",
        "deletefirewall",
        "takesnapshot",
        "snapshotlist",
        "retakesnapshot",
        "restoresnapshot",
        "deletesnapshot",
    )


def test_a_method_a_path_does_not_take_is_an_indigo_405(client: TestClient) -> None:
    r = client.post("/webarenaIndigo/v1/vm/getinstancelist")
    assert r.status_code == 405
    assert r.json() == {
        "success": False,
        "errorMessage": "Method not allowed.",
        "errorCode": "A4050",
    }
    r = client.patch("/webarenaIndigo/v1/vm/sshkey/1")
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT", "DELETE"}
