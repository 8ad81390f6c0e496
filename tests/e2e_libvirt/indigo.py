"""The end-to-end tests' client: the Indigo API as a tenant uses it, the server's /_aiiro/
as its operator does, and waits that end early when the server gives up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

API = "/webarenaIndigo/v1"
WAIT_S = 240.0


class Indigo:
    def __init__(self, base: str, key: str, secret: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)
        body = self.http.post(
            "/oauth/v1/accesstokens",
            json={"grantType": "client_credentials", "clientId": key, "clientSecret": secret},
        ).json()
        self.http.headers["Authorization"] = f"Bearer {body['accessToken']}"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        resp = self.http.request(method, f"{API}{path}", json=body)
        assert resp.status_code < 300, (method, path, resp.status_code, resp.text)
        return resp.json()

    def instance(self, instance_id: int) -> dict[str, Any] | None:
        listed = self.call("GET", "/vm/getinstancelist")
        return next((i for i in listed if i["id"] == instance_id), None)

    def status(self, instance_id: int, command: str) -> Any:
        return self.call(
            "POST", "/vm/instance/statusupdate", {"instanceId": str(instance_id), "status": command}
        )


class Operator:
    """The server's /_aiiro/ (admin token): why it gave up on an instance's operation."""

    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}
        )
        self.instance_id: int | None = None

    def failure(self) -> str | None:
        if self.instance_id is None:
            return None
        resp = self.http.get(
            "/_aiiro/operations", params={"instance": self.instance_id, "state": "failed"}
        )
        assert resp.status_code == 200, resp.text
        failed = resp.json()["operations"]
        if not failed:
            return None
        op = failed[0]
        return (
            f"the server gave up on {op['kind']} of instance {op['instance_id']} after "
            f"{op['attempts']} attempt(s): {op['error']}"
        )


def wait_for(
    operator: Operator, what: str, check: Callable[[], Any], timeout: float = WAIT_S
) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        reason = operator.failure()
        if reason is not None:
            raise AssertionError(f"waiting for {what}: {reason}")
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def wait_status(api: Indigo, operator: Operator, instance_id: int, wanted: str) -> None:
    def now() -> bool:
        inst = api.instance(instance_id)
        return inst is not None and inst["instancestatus"] == wanted

    wait_for(operator, f"instance {instance_id} {wanted}", now)
