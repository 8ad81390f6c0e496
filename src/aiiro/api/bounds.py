"""Bounds on every HTTP request (API, panel, admin), before any of it is parsed.

- The body is at most `max_body` bytes: a Content-Length above it is answered at once,
  unread; a body sent in chunks is counted as it streams in and cut off at the limit.
  Nothing ever holds more than the limit of one request in memory, with or without
  credentials.
- Each chunk of the body arrives within `client_timeout` seconds, or the request ends:
  a client that stalls halfway holds nothing for long.
- A request that waited for the store's write lock longer than AIIRO_LOCK_WAIT_S (another
  process held it) is answered 503, Indigo-shaped, with a Retry-After.
- An exception that escapes the application is answered here with the Indigo-shaped 500
  (inside IndigoHeaders, so it keeps its request id and headers and reaches the request
  log), logged as one line and one traceback, and the connection stays open: a client's
  pool is not broken by an unrelated failure.

Size and time are gateway matters on the real service, so their answers take the
gateway's shape (domain/errors.GatewayError), with a `connection: close` since the rest
of the body is never read.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiiro.api import render
from aiiro.domain.errors import INTERNAL, SERVICE_BUSY, GatewayError, IndigoError
from aiiro.inputs import decimal
from aiiro.store.db import is_busy

log = logging.getLogger("aiiro.api")
BUSY_TEXT = "The service is busy. Please try again shortly."


class _BodyTooLarge(Exception):
    pass


class _BodyTooSlow(Exception):
    pass


def too_large(limit: int) -> GatewayError:
    return GatewayError(
        413, "Request body too large.", f"The request body is larger than {limit} bytes."
    )


def too_slow(seconds: float) -> GatewayError:
    return GatewayError(
        408, "Request timeout.", f"The request body did not arrive within {seconds:g} s."
    )


class Bounds:
    def __init__(self, app: ASGIApp, max_body: int, client_timeout: float) -> None:
        self.app = app
        self.max_body = max_body
        self.client_timeout = client_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.max_body:
            await self._answer(scope, send, too_large(self.max_body))
            return
        started = False
        received = 0
        # Without a length or a chunked encoding an HTTP/1.1 request has no body (RFC 9112
        # 6.3): nothing to wait for, and no deadline to set (the GETs that clients poll).
        body_done = length == 0 or (length is None and not _chunked(scope))

        async def receive_bounded() -> Message:
            nonlocal received, body_done
            if body_done:  # only a disconnect can come now: no deadline on waiting for it
                return await receive()
            try:
                async with asyncio.timeout(self.client_timeout):
                    message = await receive()
            except TimeoutError:
                raise _BodyTooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _BodyTooLarge
                body_done = not message.get("more_body", False)
            return message

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, receive_bounded, send_tracked)
        except _BodyTooLarge:
            if not started:
                await self._answer(scope, send, too_large(self.max_body))
        except _BodyTooSlow:
            if not started:
                await self._answer(scope, send, too_slow(self.client_timeout))
        except Exception as exc:
            request_id = scope.get("state", {}).get("request_id")
            if is_busy(exc):
                # The store's lock stayed taken (another process, a backup) longer than
                # AIIRO_LOCK_WAIT_S: the client may try again; nothing is wrong with us.
                log.warning("503 for %s %s: the store is busy", scope["method"], scope["path"])
                if not started:
                    response = render.error(IndigoError(503, SERVICE_BUSY, BUSY_TEXT))
                    response.headers["retry-after"] = "1"
                    await response(scope, receive, send)
                return
            log.error(
                "500 for %s %s (request %s): %s: %s",
                scope["method"],
                scope["path"],
                request_id,
                type(exc).__name__,
                exc,
                exc_info=exc,
            )
            if not started:
                response = render.error(IndigoError(500, INTERNAL, "Internal server error."))
                await response(scope, receive, send)

    @staticmethod
    async def _answer(scope: Scope, send: Send, err: GatewayError) -> None:
        request_id = scope.get("state", {}).get("request_id")
        response = render.gateway_error(err, request_id, {"connection": "close"})

        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, nothing, send)


def _chunked(scope: Scope) -> bool:
    return any(name == b"transfer-encoding" for name, _ in scope["headers"])


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return decimal(value.decode("latin-1"))
    return None
