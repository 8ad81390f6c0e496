"""The instance console in the browser: a websocket to the compute driver's console stream
(the sim's simulated serial console, the libvirt driver's real one).

The socket opens only for a signed-in session that owns the instance, from a page of
this panel: the Origin header must name the host the socket was opened on, and the
session's CSRF token must come as the second subprotocol the page offers
(`new WebSocket(url, ["aiiro.console", token])`), not in the URL, which servers and
proxies write to their logs. A page on another site can neither pass the Origin check
nor know the token. The session is checked again while the console is open, so signing
out or an account being disabled closes it.

A refusal is the handshake accepted, then closed at once with 4403 (not signed in, bad
token, another origin, session ended while open) or 4404 (no such instance of this
account): a refused handshake would reach the page only as 1006, with no reason.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import anyio
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from aiiro.compute.driver import ConsoleStream
from aiiro.domain import instances, specs
from aiiro.domain.errors import IndigoError
from aiiro.web import sessions
from aiiro.web.pages import PREFIX, engine, runtime

router = APIRouter()

READ_WAIT_S = 0.25
RECHECK_S = 30.0
MAX_INPUT = 4096
PROTOCOL = "aiiro.console"
# Close codes in the application range (4000-4999), so the page can tell why.
DENIED = 4403
GONE = 4404


def same_origin(websocket: WebSocket) -> bool:
    """The page that opened the socket is on the host the socket was opened on."""
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    if not origin or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()


def offered_token(websocket: WebSocket) -> str | None:
    """The CSRF token the page offered after PROTOCOL, if it offered PROTOCOL first."""
    offered = websocket.scope.get("subprotocols") or []
    if len(offered) == 2 and offered[0] == PROTOCOL:
        return str(offered[1])
    return None


async def refuse(websocket: WebSocket, code: int) -> None:
    subprotocol = PROTOCOL if PROTOCOL in (websocket.scope.get("subprotocols") or []) else None
    await websocket.accept(subprotocol=subprotocol)
    await websocket.close(code=code)


@router.websocket(PREFIX + "/instances/{instance_id:id}/console")
async def console(websocket: WebSocket, instance_id: int) -> None:
    rt = runtime(websocket)
    token = websocket.cookies.get(sessions.SESSION_COOKIE)
    user = await run_in_threadpool(sessions.lookup, rt, token)
    if (
        user is None
        or not same_origin(websocket)
        or not sessions.csrf_matches(rt, token, offered_token(websocket))
    ):
        await refuse(websocket, DENIED)
        return
    driver = engine(websocket).driver
    account_id = user.account_id

    def open_console() -> ConsoleStream:
        with rt.db.read() as s:
            return specs.console(rt, s, driver, instances.get(s, account_id, instance_id))

    try:
        stream = await run_in_threadpool(open_console)
    except IndigoError:
        await refuse(websocket, GONE)
        return
    await websocket.accept(subprotocol=PROTOCOL)
    try:
        async with anyio.create_task_group() as tasks:

            async def first_to_end(job: Callable[[], Awaitable[None]]) -> None:
                await job()
                tasks.cancel_scope.cancel()

            tasks.start_soon(first_to_end, lambda: _to_browser(websocket, stream, token))
            tasks.start_soon(first_to_end, lambda: _from_browser(websocket, stream))
    except* WebSocketDisconnect:
        pass  # the page went away (navigation, closed tab): nothing left to do
    finally:
        stream.close()


async def _to_browser(websocket: WebSocket, stream: ConsoleStream, token: str | None) -> None:
    checked = time.monotonic()
    while True:
        data = await anyio.to_thread.run_sync(stream.read, READ_WAIT_S)
        if data:
            await websocket.send_bytes(data)
        if time.monotonic() - checked > RECHECK_S:
            checked = time.monotonic()
            if sessions.lookup(runtime(websocket), token) is None:
                await websocket.close(code=DENIED)
                return


async def _from_browser(websocket: WebSocket, stream: ConsoleStream) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("bytes") or (message.get("text") or "").encode()
        if data and len(data) <= MAX_INPUT:
            await anyio.to_thread.run_sync(stream.write, data)
