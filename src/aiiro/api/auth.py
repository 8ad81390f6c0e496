"""The caller of every backend endpoint (its bearer token), and the quota it draws on."""

from __future__ import annotations

from anyio import to_thread
from starlette.requests import Request

from aiiro.domain import quota
from aiiro.domain.accounts import Caller, authenticate, invalid_token
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def engine(request: Request) -> Engine:
    """The engine: every change goes through its `change` (settle, write, kick)."""
    found: Engine = request.app.state.engine
    return found


async def caller(request: Request) -> Caller:
    rt = runtime(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise invalid_token()
    who = authenticate(rt, token.strip())
    request.state.account_id = who.account_id
    request.state.api_key_id = who.api_key_id
    if rt.quota:
        # A write per request: off the event loop, like every write. The state (refused
        # or not) goes into the request log with the request.
        try:
            request.state.quota = await to_thread.run_sync(quota.consume, rt, who.api_key_id)
        except quota.QuotaExceeded as refused:
            request.state.quota = refused.state
            raise
    return who
