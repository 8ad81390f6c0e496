"""Carrying `Http` effects out: over httpx (the SDK's default, sync and async), or over a
plain socket for `http://` endpoints, which the CLI uses to start fast (importing httpx
costs more than a whole request to a local aiiro).
"""

from __future__ import annotations

import _socket

from aiiro.client.core import Http, Reply
from aiiro.client.errors import NetworkError

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing: CLI start-up)
if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx

    from aiiro.client.core import SyncSend

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


class HttpxSend:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def __call__(self, h: Http) -> Reply:
        import httpx

        try:
            # The client's own timeout applies (Indigo() gives the one it creates its own).
            r = self.client.request(h.method, h.url, headers=h.headers, content=h.content)
        except httpx.TransportError as exc:
            raise NetworkError(f"{h.method} {h.url}: {exc or type(exc).__name__}") from exc
        return Reply(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)


class HttpxAsyncSend:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __call__(self, h: Http) -> Reply:
        import httpx

        try:
            r = await self.client.request(h.method, h.url, headers=h.headers, content=h.content)
        except httpx.TransportError as exc:
            raise NetworkError(f"{h.method} {h.url}: {exc or type(exc).__name__}") from exc
        return Reply(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)


def for_endpoint(endpoint: str, environ: Mapping[str, str]) -> SyncSend:
    """The CLI's transport: a plain socket for http:// endpoints without a proxy (a fast
    start), else httpx (https://, proxies)."""
    if wire_suits(endpoint, environ):
        return WireSend()
    import httpx

    return HttpxSend(httpx.Client(timeout=30.0))


def wire_suits(endpoint: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the plain-socket transport can serve this endpoint: plain HTTP, no proxy."""
    import os

    env = os.environ if environ is None else environ
    return endpoint.startswith("http://") and not any(env.get(v) for v in PROXY_VARIABLES)


class WireSend:
    """HTTP/1.1 over a socket, one connection per request (Connection: close)."""

    def __call__(self, h: Http) -> Reply:
        host, port, target = split_http_url(h.url)
        host_header = f"[{host}]" if ":" in host else host
        if port != 80:
            host_header += f":{port}"
        head = [f"{h.method} {target} HTTP/1.1", f"Host: {host_header}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in h.headers.items()]
        body = h.content or b""
        if body or h.method in ("POST", "PUT"):
            head.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        chunks = []
        try:
            sock = connect(host, port, h.timeout)
            try:
                sock.sendall(raw)
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
            finally:
                sock.close()
        except OSError as exc:
            raise NetworkError(f"{h.method} {h.url}: {exc}") from exc
        return parse_response(b"".join(chunks), h)


def connect(host: str, port: int, timeout: float) -> _socket.socket:
    """socket.create_connection, on `_socket` (the C module under `socket`): importing
    `socket` itself, which builds its enums and loads `selectors`, would cost the CLI more
    than this whole request to a local server."""
    # An ASCII host as bytes skips the idna codec (another start-up cost).
    address = host.encode() if host.isascii() else host
    error: OSError = OSError(f"no address for {host}")
    for family, kind, proto, _, where in _socket.getaddrinfo(address, port, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(where)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error


def split_http_url(url: str) -> tuple[str, int, str]:
    """(host, port, path?query) of an http:// URL (urllib.parse costs start-up time)."""
    if not url.startswith("http://"):
        raise NetworkError(f"the plain transport only speaks http://, not {url}")
    authority, slash, rest = url[len("http://") :].partition("/")
    target = slash + rest if slash else "/"
    if authority.startswith("["):  # [IPv6]:port
        host, _, tail = authority[1:].partition("]")
        port_text = tail.removeprefix(":")
    else:
        host, _, port_text = authority.partition(":")
    if not host or (port_text and not port_text.isdigit()):
        raise NetworkError(f"bad URL {url!r}")
    return host, int(port_text or 80), target


def parse_response(data: bytes, h: Http) -> Reply:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise NetworkError(f"{h.method} {h.url}: incomplete answer")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        raise NetworkError(f"{h.method} {h.url}: bad status line {lines[0]!r}") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    elif "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return Reply(status, headers, body)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    pos = 0
    while True:
        end = data.index(b"\r\n", pos)
        size = int(data[pos:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        start = end + 2
        out += data[start : start + size]
        pos = start + size + 2
