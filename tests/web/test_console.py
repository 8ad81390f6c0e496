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


def close_code(v: Visitor, path: str, **how: Any) -> int:
    """The code the server closes the socket with before any output."""
    try:
        with v.websocket(path, **how) as ws:
            ws.receive_bytes()
    except WebSocketDisconnect as closed:
        return closed.code
    raise AssertionError("the console opened")


def test_the_console_shows_the_boot_log_and_takes_keystrokes(
    alice_web: Visitor, running: int
) -> None:
    alice_web.get(f"/panel/instances/{running}")
    with alice_web.websocket(f"/panel/instances/{running}/console") as ws:
        assert ws.accepted_subprotocol == "aiiro.console"
        log = read_until(ws, b"web1 login: ")
        assert b"Debian GNU/Linux 12 web1 ttyS0" in log
        ws.send_text("root\r")
        assert b"Password: " in read_until(ws, b"Password: ")


def test_the_page_gives_the_token_apart_from_the_url(alice_web: Visitor, running: int) -> None:
    page = alice_web.get(f"/panel/instances/{running}").text
    assert f'data-ws="/panel/instances/{running}/console"' in page
    assert f'data-csrf="{alice_web.csrf}"' in page


def test_the_console_needs_the_csrf_token(alice_web: Visitor, running: int) -> None:
    alice_web.get(f"/panel/instances/{running}")
    path = f"/panel/instances/{running}/console"
    assert close_code(alice_web, path, token="") == 4403
    assert close_code(alice_web, path, token="x") == 4403
    # In the URL it counts for nothing (URLs end up in logs).
    assert close_code(alice_web, f"{path}?csrf={alice_web.csrf}", token="") == 4403


def test_the_console_opens_only_for_pages_of_the_panel(alice_web: Visitor, running: int) -> None:
    alice_web.get(f"/panel/instances/{running}")
    path = f"/panel/instances/{running}/console"
    assert close_code(alice_web, path, origin="http://evil.example") == 4403
    assert close_code(alice_web, path, origin="http://aiiro.test.evil.example") == 4403
    assert close_code(alice_web, path, origin=None) == 4403
    with alice_web.websocket(path, origin="http://AIIRO.test") as ws:
        assert b"login: " in read_until(ws, b"login: ")


def test_another_account_cannot_open_the_console(
    alice_web: Visitor, bob_web: Visitor, running: int
) -> None:
    bob_web.get("/panel/instances")
    assert close_code(bob_web, f"/panel/instances/{running}/console") == 4404


def test_signed_out_visitors_cannot_open_the_console(visitor: Any, running: int) -> None:
    assert close_code(visitor(), f"/panel/instances/{running}/console", token="x") == 4403
