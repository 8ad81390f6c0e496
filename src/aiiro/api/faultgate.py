"""Where the HTTP-level faults (latency, http_error) strike: after the token and quota
checks of an Indigo request and the reading of its body, before its handler runs, by the
name its declaration gives it (api/endpoint.py). See emulator/faults.py."""

from __future__ import annotations

import asyncio

from anyio import to_thread
from starlette.requests import Request

from aiiro.domain import faults
from aiiro.runtime import Runtime

TOKEN = "accesstokens"  # the gateway's own endpoint: its errors take the gateway's shape


async def strike(
    rt: Runtime,
    request: Request,
    name: str,
    account_id: int | None,
    api_key_id: int | None,
    command: str | None,
) -> None:
    if not faults.has_http_rules(rt):
        return
    operations = faults.request_operations(name, request.method, command)
    # A counted rule is spent with a write: off the event loop.
    hits = await to_thread.run_sync(faults.take_http, rt, operations, account_id)
    delay = sum(float(h.params["seconds"]) for h in hits if h.action == "latency")
    if delay > 0:
        await asyncio.sleep(delay)
    for hit in hits:
        if hit.action == "http_error":
            raise faults.injected_error(rt, hit.params, name == TOKEN, api_key_id)
