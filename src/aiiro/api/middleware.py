"""What every request goes through first: this process's copy of the shared state brought
up to date (Runtime.sync), the headers every Indigo response carries, CORS preflight, and
the request log.

Plain ASGI (no BaseHTTPMiddleware) to keep the per-request cost low.
"""

from __future__ import annotations

import os
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiiro.runtime import Runtime


def request_id_v4() -> str:
    """A random UUID (version 4) as text; uuid.uuid4() costs three times as much, and
    every response carries one."""
    h = bytearray(os.urandom(16))
    h[6] = (h[6] & 0x0F) | 0x40
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


COMMON = [
    (b"access-control-allow-origin", b"*"),
    (
        b"access-control-allow-headers",
        b"origin, x-requested-with, accept, Authorization, Content-Type",
    ),
    (b"access-control-max-age", b"1728000"),
    (b"access-control-allow-methods", b"GET, PUT, POST, DELETE"),
]
# Seen on /webarenaIndigo responses only (a Laravel backend behind the gateway).
BACKEND = [
    (b"vary", b"Authorization"),
    (b"cache-control", b"no-cache, private"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"sameorigin"),
    (b"x-xss-protection", b"1; mode=block"),
    (b"strict-transport-security", b"max-age=631138519; includeSubDomains"),
]
API_PREFIXES = ("/webarenaIndigo/", "/oauth/")


class IndigoHeaders:
    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.rt.sync(request=True)
        path: str = scope["path"]
        is_api = path.startswith(API_PREFIXES)
        is_backend = path.startswith("/webarenaIndigo/")
        request_id = request_id_v4()
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id

        if scope["method"] == "OPTIONS" and is_api:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        *COMMON,
                        (b"content-length", b"0"),
                        (b"x-request-id", request_id.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        log = self.rt.request_log if is_api else None
        started = time.perf_counter()
        req_chunks: list[bytes] = []
        resp_chunks: list[bytes] = []
        status_box = [0]

        async def receive_logged() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                req_chunks.append(message.get("body", b""))
            return message

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                status_box[0] = status
                if is_api:
                    headers = list(message.get("headers", []))
                    headers.extend(COMMON)
                    headers.append((b"x-request-id", request_id.encode()))
                    # Gateway errors (401, 429) never reached the backend.
                    if is_backend and not state.get("gateway"):
                        headers.extend(BACKEND)
                        headers.append((b"severity", str(status).encode()))
                    # The quota headers are the gateway's: on every counted response.
                    q = state.get("quota")
                    if q is not None and not any(k == b"x-quota-allowed" for k, _ in headers):
                        headers.extend(
                            (k.lower().encode(), v.encode()) for k, v in q.headers().items()
                        )
                    message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and log is not None:
                resp_chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive_logged if log else receive, send_wrapped)

        if log is not None:
            counted = state.get("quota")
            log.add(
                method=scope["method"],
                path=path,
                query=scope.get("query_string", b"").decode("latin-1"),
                status=status_box[0],
                account_id=state.get("account_id"),
                api_key_id=state.get("api_key_id"),
                quota=None if counted is None else counted.as_dict(),
                headers=list(scope.get("headers", [])),
                request_body=b"".join(req_chunks),
                response_body=b"".join(resp_chunks),
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
