"""The CLI's transport (http.client): what it sends and reads from a real HTTP server, its
errors, and when the CLI goes through httpx instead (a proxy)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from aiiro.client import NetworkError
from aiiro.client_core.policy import Http
from aiiro.client_core.transport import HttpxSend, StdlibSend, for_cli


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"4\r\n[1,2\r\n3;ext=1\r\n,3]\r\n0\r\n\r\n")
            return
        body = f'{{"path": "{self.path}", "auth": "{self.headers["Authorization"]}"}}'.encode()
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Quota-Reset", "5")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_headers_query_and_content_length(base: str) -> None:
    r = StdlibSend()(Http("GET", f"{base}/a/b?x=1", {"Authorization": "Bearer t"}, None, 2.0))
    assert (r.status, r.headers["x-quota-reset"]) == (201, "5")
    assert r.json() == {"path": "/a/b?x=1", "auth": "Bearer t"}


def test_body_sent(base: str) -> None:
    r = StdlibSend()(Http("POST", f"{base}/p", {}, b'{"a": 1}', 2.0))
    assert (r.status, r.json()) == (200, {"a": 1})


def test_chunked(base: str) -> None:
    assert StdlibSend()(Http("GET", f"{base}/chunked", {}, None, 2.0)).json() == [1, 2, 3]


def test_refused_connection() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError, match="refused"):
        StdlibSend()(Http("GET", f"http://127.0.0.1:{port}/", {}, None, 2.0))


def test_not_http() -> None:
    with pytest.raises(NetworkError, match="not an http"):
        StdlibSend()(Http("GET", "ftp://127.0.0.1/", {}, None, 2.0))


def test_httpx_behind_a_proxy() -> None:
    assert isinstance(for_cli({}), StdlibSend)
    assert isinstance(for_cli({"HTTPS_PROXY": "http://proxy:3128"}), HttpxSend)
