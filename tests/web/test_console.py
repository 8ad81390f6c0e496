"""The console websocket: the driver's console stream for the instance's owner only."""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocketDisconnect

from tests.web.conftest import Visitor


def read_until(ws: Any, needle: bytes, limit: int = 50) -> bytes:
    seen = b""
    for _ in range(limit):
        seen += ws.receive_bytes()
        if needle in seen:
            return seen
    raise AssertionError(f"{needle!r} never came; got {seen[-400:]!r}")


def close_code(v: Visitor, path: str) -> int:
    """The code the server closes the socket with before any output."""
    try:
        with v.websocket(path) as ws:
            ws.receive_bytes()
    except WebSocketDisconnect as closed:
        return closed.code
    raise AssertionError("the console opened")


def test_the_console_shows_the_boot_log_and_takes_keystrokes(
    alice_web: Visitor, running: int
) -> None:
    alice_web.get(f"/panel/instances/{running}")
    with alice_web.websocket(f"/panel/instances/{running}/console?csrf={alice_web.csrf}") as ws:
        log = read_until(ws, b"web1 login: ")
        assert b"Debian GNU/Linux 12 web1 ttyS0" in log
        ws.send_text("root\r")
        assert b"Password: " in read_until(ws, b"Password: ")


def test_the_console_needs_the_csrf_token(alice_web: Visitor, running: int) -> None:
    assert close_code(alice_web, f"/panel/instances/{running}/console") == 4403
    assert close_code(alice_web, f"/panel/instances/{running}/console?csrf=x") == 4403


def test_another_account_cannot_open_the_console(
    alice_web: Visitor, bob_web: Visitor, running: int
) -> None:
    bob_web.get("/panel/instances")
    path = f"/panel/instances/{running}/console?csrf={bob_web.csrf}"
    assert close_code(bob_web, path) == 4404


def test_signed_out_visitors_cannot_open_the_console(visitor: Any, running: int) -> None:
    assert close_code(visitor(), f"/panel/instances/{running}/console?csrf=x") == 4403
