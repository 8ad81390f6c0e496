"""Carrying `Http` effects out: over the standard library's http.client (the CLI's, for
endpoints reached without a proxy), or over httpx (the SDK's default, sync and async, and
the CLI's behind a proxy: httpx reads the proxy variables, http.client does not).

httpx is imported only where it is used: importing it costs more than a whole CLI run
against a local aiiro (docs/performance.md).
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiiro.client_core.errors import NetworkError
from aiiro.client_core.policy import Http, Reply, SyncSend

if TYPE_CHECKING:
    import httpx

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


class StdlibSend:
    """HTTP/1.1 with http.client, one connection per request (the CLI sends a few)."""

    def __call__(self, h: Http) -> Reply:
        url = urlsplit(h.url)
        target = url.path or "/"
        if url.query:
            target += "?" + url.query
        kind = {"http": http.client.HTTPConnection, "https": http.client.HTTPSConnection}
        if url.scheme not in kind or not url.hostname:
            raise NetworkError(f"{h.method} {h.url}: not an http:// or https:// URL")
        try:
            conn = kind[url.scheme](url.hostname, url.port, timeout=h.timeout)
            try:
                conn.request(h.method, target, body=h.content, headers=h.headers)
                r = conn.getresponse()
                content = r.read()
            finally:
                conn.close()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise NetworkError(f"{h.method} {h.url}: {exc or type(exc).__name__}") from exc
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, content)


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


def for_cli(environ: Mapping[str, str] | None = None) -> SyncSend:
    """The CLI's transport: http.client, or httpx when a proxy variable is set."""
    env = os.environ if environ is None else environ
    if not any(env.get(v) for v in PROXY_VARIABLES):
        return StdlibSend()
    import httpx

    return HttpxSend(httpx.Client(timeout=30.0))
