"""Each Indigo endpoint declared once: method, path, handler, request body, documented
answers, fault-rule name, gateway or backend. The routes that serve them, their OpenAPI
operations and the fault names all come from these declarations.

An area module (api/sshkeys.py, api/instances.py...) declares its endpoints on an `Area`:

    sshkeys = Area("/webarenaIndigo/v1/vm", tag="sshkeys")

    @sshkeys.post("/sshkey", status=201, body=CreateSshKey, answers={...}, errors=(BAD,),
                  fault="sshkey", summary="Register an SSH public key")
    async def create_key(request: Request, who: Caller, body: CreateSshKey) -> Response: ...

Serving a backend endpoint (`serve`): the bearer token and the quota (api/auth.py), the
body read leniently as the declared model (api/body.py), the HTTP fault rules for this
endpoint (api/faultgate.py, by its declared name), then the handler with the path's
parameters. The gateway's own endpoint (the token) takes no bearer token. These are plain
Starlette routes: one routing path for every endpoint, without FastAPI's dependency
solving (a tenth of a polled request's time).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aiiro.api import faultgate
from aiiro.api.auth import caller, runtime
from aiiro.api.body import parse

Schema = dict[str, Any]
Handler = Callable[..., Awaitable[Response]]


@dataclass(frozen=True)
class Endpoint:
    method: str  # GET, POST, PUT, DELETE
    path: str  # with {parameters}
    handler: Handler
    summary: str
    tag: str
    answers: dict[str, Schema]  # success status -> OpenAPI response object
    errors: tuple[str, ...] = ()  # the error statuses its body or ids can cause
    body: type[BaseModel] | None = None
    # The body's schema when the handler reads the body itself (the token endpoint takes
    # JSON or a form).
    body_doc: Schema | None = None
    query: tuple[Schema, ...] = ()  # OpenAPI parameters read from the query
    # The name fault rules give it (emulator/faults.py), and, for statusupdate, what
    # narrows it ("statusupdate:stop"): read from the parsed body.
    fault: str = ""
    qualifier: Callable[[Any], str | None] | None = None
    # Answered by the gateway (the token endpoint): no bearer token, the gateway's shapes.
    gateway: bool = False


class Area:
    """The endpoints of one Indigo area, in the order declared."""

    def __init__(self, prefix: str, tag: str) -> None:
        self.prefix = prefix
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def route(self, method: str, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        def declare(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(method, self.prefix + path, handler, tag=self.tag, **declared)
            )
            return handler

        return declare

    def get(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **declared)

    def post(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **declared)

    def put(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **declared)

    def delete(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **declared)


def serve(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """The request handler of one endpoint: its checks, in the order above, then it."""
    if endpoint.gateway:

        async def gateway(request: Request) -> Response:
            await faultgate.strike(runtime(request), request, endpoint.fault, None, None, None)
            return await endpoint.handler(request)

        return gateway

    model, qualifier, handler = endpoint.body, endpoint.qualifier, endpoint.handler

    async def backend(request: Request) -> Response:
        who = await caller(request)
        args: list[Any] = [request, who]
        command = None
        if model is not None:
            body = await parse(request, model)
            args.append(body)
            if qualifier is not None:
                command = qualifier(body)
        await faultgate.strike(
            runtime(request), request, endpoint.fault, who.account_id, who.api_key_id, command
        )
        return await handler(*args, **request.path_params)

    return backend


def routes(endpoints: Sequence[Endpoint]) -> list[Route]:
    """One route per path, dispatching on the method (so that a method it does not take
    is a 405 naming all the ones it does)."""
    by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = serve(endpoint)
    return [
        Route(path, _dispatch(methods), methods=list(methods)) for path, methods in by_path.items()
    ]


def _dispatch(
    methods: dict[str, Callable[[Request], Awaitable[Response]]],
) -> Callable[[Request], Awaitable[Response]]:
    if len(methods) == 1:
        return next(iter(methods.values()))

    async def dispatch(request: Request) -> Response:
        handler = methods.get(request.method)
        if handler is None:  # (the route's own method check answers first)
            raise HTTPException(405)
        return await handler(request)

    return dispatch
