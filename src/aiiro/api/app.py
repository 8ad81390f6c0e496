"""The ASGI application: routers, Indigo error rendering, headers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from aiiro import __version__
from aiiro.api import endpoint, openapi, render
from aiiro.api.bounds import Bounds
from aiiro.api.endpoint import Endpoint
from aiiro.api.middleware import IndigoHeaders
from aiiro.domain.errors import (
    INVALID_FIELD,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    GatewayError,
    IndigoError,
)
from aiiro.domain.quota import QuotaExceeded
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime

log = logging.getLogger("aiiro.api")

DESCRIPTION = """\
The WebARENA Indigo API as aiiro serves it. Get a token from `/oauth/v1/accesstokens`
with an API key and secret, then send `Authorization: Bearer <token>` on every
`/webarenaIndigo/v1/...` call. Bodies are read as JSON whatever the Content-Type.
"""


def create_app(
    rt: Runtime, engine: Engine, indigo: Sequence[Endpoint], routers: Sequence[APIRouter]
) -> FastAPI:
    """The application: the Indigo endpoints first, then `routers` in the order given (the
    composition root, serve.py, names both), Indigo-shaped errors, the headers and bounds
    of every request. With `settings.worker` the engine's worker thread runs while the
    app is up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if rt.settings.worker:
            engine.start()
        try:
            yield
        finally:
            engine.stop()
            rt.request_log.close()

    app = FastAPI(
        title="aiiro — WebARENA Indigo API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # openapi.install serves /docs with Swagger UI from the package, not from a CDN.
        docs_url=None,
        redoc_url=None,
        # FastAPI's OpenTelemetry hooks check the environment on every request; aiiro
        # exports no telemetry, and the check is a tenth of a hot request's cost.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = rt
    app.state.engine = engine

    app.router.routes.extend(endpoint.routes(indigo))
    for router in routers:
        app.include_router(router)

    @app.exception_handler(IndigoError)
    async def _indigo(_: Request, exc: IndigoError) -> Response:
        return render.error(exc)

    @app.exception_handler(GatewayError)
    async def _gateway(request: Request, exc: GatewayError) -> Response:
        headers = exc.state.headers() if isinstance(exc, QuotaExceeded) else None
        # Answered by the gateway: IndigoHeaders leaves out the backend's headers.
        request.state.gateway = True
        return render.gateway_error(exc, request.scope.get("state", {}).get("request_id"), headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            refused = render.error(IndigoError(405, METHOD_NOT_ALLOWED, "Method not allowed."))
            refused.headers.update(exc.headers or {})  # Allow: the methods the path takes
            return refused
        if exc.status_code == 404:
            return render.error(IndigoError(404, NOT_FOUND, "Not found."))
        return render.error(IndigoError(exc.status_code, f"A{exc.status_code}0", str(exc.detail)))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        return render.error(IndigoError(400, INVALID_FIELD, "The request is invalid."))

    # Outermost first: IndigoHeaders (request id, headers, the request log), then Bounds
    # (body size and time; the last-resort 500, so it too gets the headers). Middleware
    # added last runs first.
    app.add_middleware(
        Bounds,
        max_body=rt.settings.max_body_bytes,
        client_timeout=rt.settings.client_timeout_s,
    )
    app.add_middleware(IndigoHeaders, rt=rt)
    openapi.install(app, indigo)
    return app


def endpoints() -> list[Endpoint]:
    """Every Indigo endpoint, area by area, as the areas declare them."""
    from aiiro.api import apikeys, catalog, firewalls, instances, oauth, snapshots, sshkeys

    areas = (oauth, apikeys, sshkeys, catalog, instances, firewalls, snapshots)
    return [ep for module in areas for ep in module.area.endpoints]
