"""Hot routes: the Indigo endpoints that clients call in loops, served past FastAPI's router.

FastAPI's routing and dependency solving cost 100-250 µs a request on a small machine,
more than these endpoints' own work (bench/ measures it). For the few routes in `HOT`, this
plain ASGI layer calls the very endpoint functions the routers register, with the caller
resolved by the same `caller()` dependency and exceptions rendered by the app's own
exception handlers, so status, headers and bytes are those of the routed path. Everything
else passes through untouched.

An endpoint listed here must take `(request)`, or `(request, who)` for an authenticated
one, and nothing else; `HotRoutes` checks that when it is built.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from aiiro.api.auth import caller

Endpoint = Callable[..., Awaitable[Response]]
Handler = Callable[[Request, Exception], Any]  # returns a Response or an awaitable of one
Handlers = Mapping[Any, Handler]


def hot_routes() -> dict[tuple[str, str], Endpoint]:
    """(method, exact path) -> endpoint. Imported here, not at module level: the routers
    import the app's dependencies, which import this module."""
    from aiiro.api import instances, oauth, sshkeys

    return {
        ("POST", "/oauth/v1/accesstokens"): oauth.access_token,
        ("GET", "/webarenaIndigo/v1/vm/sshkey"): sshkeys.list_keys,
        ("GET", "/webarenaIndigo/v1/vm/sshkey/active/status"): sshkeys.list_active,
        ("GET", "/webarenaIndigo/v1/vm/getinstancelist"): instances.list_instances,
    }


def _needs_caller(endpoint: Endpoint) -> bool:
    params = list(inspect.signature(endpoint).parameters)
    if params == ["request"]:
        return False
    if params == ["request", "who"]:
        return True
    raise TypeError(f"hot endpoint {endpoint.__qualname__} must take (request[, who])")


class HotRoutes:
    def __init__(
        self,
        app: ASGIApp,
        handlers: Handlers,
        routes: dict[tuple[str, str], Endpoint] | None = None,
    ) -> None:
        self.app = app
        # The app's exception_handlers mapping itself: handlers added later are seen too.
        self.handlers = handlers
        table = hot_routes() if routes is None else routes
        self.routes = {key: (ep, _needs_caller(ep)) for key, ep in table.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hit = self.routes.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        if hit is None:
            await self.app(scope, receive, send)
            return
        endpoint, needs_caller = hit
        request = Request(scope, receive)
        try:
            if needs_caller:
                response = await endpoint(request, await caller(request))
            else:
                response = await endpoint(request)
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise
            result = handler(request, exc)
            response = await result if inspect.isawaitable(result) else result
        await response(scope, receive, send)

    def _handler_for(self, exc: Exception) -> Handler | None:
        # As Starlette looks them up: the nearest class in the exception's MRO.
        for cls in type(exc).__mro__:
            if cls in self.handlers:
                return self.handlers[cls]
        return None
