"""Where the HTTP-level faults (latency, http_error) strike: after the token and quota
checks of an Indigo request, before its handler runs. See emulator/faults.py."""

from __future__ import annotations

import asyncio
import json

from anyio import to_thread
from starlette.requests import Request

from aiiro.domain import faults
from aiiro.emulator.faults import endpoint_name
from aiiro.runtime import Runtime


async def strike(
    rt: Runtime, request: Request, account_id: int | None, api_key_id: int | None
) -> None:
    if not faults.has_http_rules(rt):
        return
    name = endpoint_name(request.url.path)
    if name is None:
        return
    command = await _command(request) if name == "statusupdate" else None
    operations = faults.request_operations(name, request.method, command)
    # A counted rule is spent with a write: off the event loop.
    hits = await to_thread.run_sync(faults.take_http, rt, operations, account_id)
    delay = sum(float(h.params["seconds"]) for h in hits if h.action == "latency")
    if delay > 0:
        await asyncio.sleep(delay)
    for hit in hits:
        if hit.action == "http_error":
            gateway = name == "accesstokens"
            raise faults.injected_error(rt, hit.params, gateway, api_key_id)


async def _command(request: Request) -> str | None:
    """The statusupdate command in the body; the handler reads the same cached body."""
    try:
        data = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    status = data.get("status") if isinstance(data, dict) else None
    return status if isinstance(status, str) else None
