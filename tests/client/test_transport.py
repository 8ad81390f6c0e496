"""The plain-socket transport's answer parsing, and when the CLI may use it."""

from __future__ import annotations

import socket

import pytest

from aiiro.client import NetworkError
from aiiro.client.core import Http
from aiiro.client.transport import WireSend, parse_response, split_http_url, wire_suits

GET = Http("GET", "http://127.0.0.1:1/x", {}, None, 1.0)


def test_content_length_and_headers() -> None:
    r = parse_response(
        b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Quota-Reset: 5\r\n\r\n{}trailing", GET
    )
    assert (r.status, r.content, r.headers["x-quota-reset"]) == (201, b"{}", "5")


def test_chunked() -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\n[1,2\r\n3;ext=1\r\n,3]\r\n0\r\n\r\n"
    )
    assert parse_response(raw, GET).json() == [1, 2, 3]


def test_bad_answers_are_network_errors() -> None:
    with pytest.raises(NetworkError):
        parse_response(b"garbage", GET)
    with pytest.raises(NetworkError):
        parse_response(b"HTTP/1.1 abc\r\n\r\n", GET)


def test_refused_connection() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError, match="refused"):
        WireSend()(Http("GET", f"http://127.0.0.1:{port}/", {}, None, 2.0))


def test_only_plain_http_without_proxy() -> None:
    assert wire_suits("http://127.0.0.1:8080", {})
    assert not wire_suits("https://api.customer.jp", {})
    assert not wire_suits("http://127.0.0.1:8080", {"HTTP_PROXY": "http://proxy:3128"})


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("http://127.0.0.1:8080/a/b?x=1", ("127.0.0.1", 8080, "/a/b?x=1")),
        ("http://localhost", ("localhost", 80, "/")),
        ("http://[::1]:9000/p", ("::1", 9000, "/p")),
    ],
)
def test_split_http_url(url: str, parts: tuple[str, int, str]) -> None:
    assert split_http_url(url) == parts
