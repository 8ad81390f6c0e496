"""What an aiiro server says about itself: `GET /_aiiro/health` (no credentials needed)
answers `{"status": "ok", "driver": "sim" | "libvirt", "profile": ..., "quota": ...}`.
The real service has no such path; any failure there means "not an aiiro server", or one
that cannot say.

The client asks only where the answer changes what it does: `aiiro instance ssh` to an
instance of the `sim` driver, whose addresses (198.18.0.0/15, 2001:db8::/32) have no
machine behind them, explains that instead of letting ssh time out.

With the server's admin token (a profile's `admin_token`, or AIIRO_ADMIN_TOKEN) the client
can also read `GET /_aiiro/firewalls/assignments`: which template each instance carries,
which the Indigo API never says.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiiro.client_core.errors import IndigoError
from aiiro.client_core.policy import Engine, Http, Op, Request

HEALTH_PATH = "/_aiiro/health"
ASSIGNMENTS_PATH = "/_aiiro/firewalls/assignments"
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
