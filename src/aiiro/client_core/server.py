"""What an aiiro server says about itself: `GET /_aiiro/health` (no credentials needed)
answers `{"status": "ok", "driver": "sim" | "libvirt", "profile": ..., "quota": ...}`.
The real service has no such path; any failure there means "not an aiiro server", or one
that cannot say.

The client asks only where the answer changes what it does: `aiiro instance ssh` to an
instance of the `sim` driver, whose addresses (198.18.0.0/15, 2001:db8::/32) have no
machine behind them, explains that instead of letting ssh time out.

With the server's admin token (a profile's `admin_token`, or AIIRO_ADMIN_TOKEN) the client
can also read `GET /_aiiro/firewalls/assignments`: which template each instance carries,
which the Indigo API never says; and list and set up the named race scenarios
(`GET /_aiiro/scenarios`, `POST /_aiiro/scenarios/NAME`: `aiiro scenario`).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

from aiiro.client_core.errors import APIError, ConfigError, IndigoError
from aiiro.client_core.policy import Engine, Http, Op, Request

HEALTH_PATH = "/_aiiro/health"
ASSIGNMENTS_PATH = "/_aiiro/firewalls/assignments"
SCENARIOS_PATH = "/_aiiro/scenarios"
REAL_HOST = "api.customer.jp"  # the real service: not asked


def is_real_service(endpoint: str) -> bool:
    return urlsplit(endpoint).hostname == REAL_HOST


def driver(e: Engine) -> Op[str | None]:
    """The compute driver of the aiiro server at the endpoint; None for anything else."""
    if is_real_service(e.endpoint):
        return None
    try:
        reply = yield from e.send(Request("GET", HEALTH_PATH, auth=False))
        data = reply.json() if reply.status == 200 else None
    except (IndigoError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("driver"), str):
        return str(data["driver"])
    return None


def assignments(e: Engine) -> Op[dict[int, int] | None]:
    """{instance id: template id} from an aiiro server's admin view; None when it cannot be
    known (no admin token, the real service, or the server refused)."""
    token = e.settings.admin_token
    if not token or is_real_service(e.endpoint):
        return None
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    try:
        reply = yield Http("GET", e.endpoint + ASSIGNMENTS_PATH, headers, None, e.timeout)
        data = reply.json() if reply.status == 200 else None
    except (IndigoError, ValueError):
        return None
    if not isinstance(data, list):
        return None
    return {
        int(row["instanceId"]): int(row["templateId"])
        for row in data
        if isinstance(row, dict)
        and isinstance(row.get("instanceId"), int)
        and isinstance(row.get("templateId"), int)
    }


def _admin(e: Engine, method: str, path: str, body: Any = None) -> Op[Any]:
    """A call of an aiiro control with the admin token; its answer, or APIError."""
    token = e.settings.admin_token
    if not token:
        raise ConfigError(
            "the emulator controls need the aiiro server's admin token",
            hint="set AIIRO_ADMIN_TOKEN, or admin_token in the profile (aiiro configure)",
        )
    if is_real_service(e.endpoint):
        raise ConfigError("the real Indigo service has no emulator controls")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    content = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        content = json.dumps(body).encode()
    reply = yield Http(method, e.endpoint + path, headers, content, e.timeout)
    data = reply.json()
    if reply.status >= 400:
        shown = data if isinstance(data, dict) else {}
        raise APIError(
            reply.status,
            shown.get("errorCode"),
            str(shown.get("errorMessage") or f"HTTP {reply.status}"),
            body=data,
            method=method,
            path=path,
        )
    return data


def scenarios(e: Engine) -> Op[list[dict[str, Any]]]:
    """The server's named race scenarios (name, sets_up, race, robust, params)."""
    data = yield from _admin(e, "GET", SCENARIOS_PATH)
    return list(data["scenarios"])


def scenario(e: Engine, name: str, params: dict[str, Any]) -> Op[dict[str, Any]]:
    """Set up the race scenario `name` on the server; what it did."""
    data = yield from _admin(e, "POST", f"{SCENARIOS_PATH}/{quote(name, safe='')}", params)
    return dict(data)
