"""Bounds on every request: a body over the limit is refused before it is read (413, the
gateway's shape), a stalled body ends the request (408), and an unexpected failure is an
Indigo-shaped 500 that keeps its request id, reaches the request log, is logged once and
leaves the connection usable."""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.acceptance.server import AiiroServer
from tests.conftest import Account

TOKEN_URL = "/oauth/v1/accesstokens"
CREATE = "/webarenaIndigo/v1/vm/createinstance"
LIMIT = 1024 * 1024


def gateway_413(body: dict[str, Any]) -> None:
    assert body["errorCode"] == "413"
    assert body["errorMessage"] == "Request body too large."
    assert body["developerMessage"] == "The request body is larger than 1048576 bytes."
    assert body["moreInfo"] is None and body["requestId"]


def test_a_declared_length_over_the_limit_is_refused_unread_without_credentials(
    client: TestClient,
) -> None:
    r = client.post(TOKEN_URL, content=b"x" * (LIMIT + 1))
    assert r.status_code == 413
    gateway_413(r.json())
    assert r.headers["connection"] == "close"
    assert r.headers["x-request-id"] == r.json()["requestId"]


def test_a_streamed_body_is_cut_off_at_the_limit(client: TestClient, alice: Account) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"instanceName": "'
        for _ in range(40):
            yield b"a" * 65536

    r = client.post(CREATE, content=chunks(), headers=alice.auth)
    assert r.status_code == 413
    gateway_413(r.json())


def test_a_body_just_under_the_limit_is_read(client: TestClient, alice: Account) -> None:
    body = b'{"instanceName": "' + b"a" * (LIMIT - 100) + b'"}'
    r = client.post(CREATE, content=body, headers=alice.auth)
    assert r.status_code == 400  # read and refused for what it says, not for its size
    assert r.json()["errorCode"] != "413"


def test_the_panel_forms_are_bounded_too(client: TestClient) -> None:
    r = client.post("/panel/signin", content=b"email=" + b"a" * (LIMIT + 1))
    assert r.status_code == 413


def test_an_unexpected_failure_is_an_indigo_500_with_headers_logged_once(
    app: Any, client: TestClient, alice: Account, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom() -> None:
        raise RuntimeError("the disk caught fire")

    app.add_api_route("/webarenaIndigo/v1/vm/boom", boom)
    with caplog.at_level(logging.ERROR, logger="aiiro"):
        r = client.get("/webarenaIndigo/v1/vm/boom", headers=alice.auth)
    assert r.status_code == 500
    assert r.json() == {
        "success": False,
        "errorMessage": "Internal server error.",
        "errorCode": "A5000",
    }
    assert r.headers["x-request-id"]
    assert r.headers["access-control-allow-origin"] == "*"
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "RuntimeError: the disk caught fire" in errors[0].getMessage()
    assert r.headers["x-request-id"] in errors[0].getMessage()
    assert errors[0].exc_info is not None
    logged = client.get("/_aiiro/requests", headers={"Authorization": "Bearer test-admin-token"})
    assert [e["status"] for e in logged.json()["requests"]][-1] == 500


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[AiiroServer]:
    with AiiroServer(tmp_path / "data", database_url=database_url) as srv:
        srv.start(env={"AIIRO_CLIENT_TIMEOUT_S": "1"})
        yield srv


def raw_exchange(port: int, request: bytes, wait: float = 0.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        time.sleep(wait)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
            if b"\r\n\r\n" in b"".join(chunks) and b"}" in data:
                break
        return b"".join(chunks)


@pytest.mark.acceptance
@pytest.mark.parametrize(
    "framing",
    [b"Content-Length: 100\r\n\r\n", b"Transfer-Encoding: chunked\r\n\r\nd\r\n"],
    ids=["length", "chunked"],
)
def test_a_stalled_body_ends_the_request(server: AiiroServer, framing: bytes) -> None:
    """A body with a length or in chunks has a deadline: only a request with neither has
    no body to wait for."""
    head = b"POST /oauth/v1/accesstokens HTTP/1.1\r\nHost: x\r\n" + framing + b'{"clientId": '
    answer = raw_exchange(server.port, head)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"errorCode": "408"' in answer


@pytest.mark.acceptance
def test_a_huge_declared_body_is_answered_before_it_is_sent(server: AiiroServer) -> None:
    head = (
        b"POST /webarenaIndigo/v1/vm/sshkey HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 200000000\r\n\r\n"
    )
    answer = raw_exchange(server.port, head)  # not one byte of the body was sent
    assert answer.startswith(b"HTTP/1.1 413 ")


@pytest.mark.acceptance
def test_a_stalled_head_is_dropped(server: AiiroServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(b"GET /_aiiro/health HTTP/1.1\r\nHost: x\r\n")  # and never the end
        assert sock.recv(100) == b""  # closed by the server, not by this test's timeout


@pytest.mark.acceptance
def test_a_kept_alive_connection_serves_the_next_request_in_time(server: AiiroServer) -> None:
    request = b"GET /_aiiro/health HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        for _ in range(3):
            sock.sendall(request)
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
            time.sleep(0.6)  # less than the timeout between requests
        sock.sendall(b"GET /_aiiro/health HTTP/1.1\r\n")
        assert sock.recv(100) == b""


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.I)[1])  # type: ignore[index]
    while len(body) < length:
        body += sock.recv(65536)
    return data
