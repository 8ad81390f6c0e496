"""The instance console in the browser: a websocket to the compute driver's console stream
(the sim's simulated serial console, the libvirt driver's real one).

The socket opens only for a signed-in session that owns the instance and that sends its
CSRF token in the URL: a page on another site cannot open it with the visitor's cookie.
The session is checked again while the console is open, so signing out or an account
being disabled closes it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio
from fastapi import APIRouter
from starlette.websockets import WebSocket, WebSocketDisconnect

from aiiro.compute.driver import ComputeDriver, ConsoleStream
from aiiro.domain import instances
from aiiro.domain.errors import IndigoError
from aiiro.domain.instance_ops import spec_of
from aiiro.web import sessions
from aiiro.web.pages import PREFIX, runtime

router = APIRouter()

READ_WAIT_S = 0.25
RECHECK_S = 30.0
MAX_INPUT = 4096
# Close codes in the application range (4000-4999), so the page can tell why.
DENIED = 4403
GONE = 4404


@router.websocket(PREFIX + "/instances/{instance_id:int}/console")
async def console(websocket: WebSocket, instance_id: int) -> None:
    rt = runtime(websocket)
    token = websocket.cookies.get(sessions.SESSION_COOKIE)
    user = sessions.lookup(rt, token)
    if user is None or not sessions.csrf_matches(rt, token, websocket.query_params.get("csrf")):
        await websocket.close(code=DENIED)
        return
    try:
        with rt.db.read() as s:
            inst = instances.get(s, user.account_id, instance_id)
            spec = spec_of(rt, s, inst)
    except IndigoError:
        await websocket.close(code=GONE)
        return
    driver: ComputeDriver = rt.extras["driver"]
    stream = driver.console(spec)
    await websocket.accept()
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
