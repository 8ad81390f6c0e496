"""`aiiro record`: a reverse proxy that forwards every request to an Indigo endpoint and
records each exchange, scrubbed (aiiro.redaction.Scrubber), in a file for a bug report.

The file holds, per exchange: method, path, query, status, the headers that matter
(compare.py), and both bodies, with credentials, tokens, API keys, names, SSH keys,
addresses and URLs' credentials hidden. The exchanges are kept as sent in memory only:
after each one the whole file is written again from them, scrubbed with everything learned
so far, so a secret first seen late (a token echoed back, the API key in a later query)
is hidden in the earlier exchanges too. The file is replaced atomically, mode 0600.

Two forms, by the file's name: `*.json` is one JSON document
(`{"aiiro-recording": 1, "target": ..., "exchanges": [...]}`); anything else is JSON lines
(that header object, then one exchange a line).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aiiro.fidelity.compare import NOT_JSON, REQUEST_HEADERS, RESPONSE_HEADERS, decoded
from aiiro.inputs import redacted
from aiiro.redaction import Scrubber

FORMAT = 1  # the file's "aiiro-recording" version
# Not forwarded either way (RFC 9110 §7.6.1), or recomputed by the proxy.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
    }
)
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


@dataclass
class Exchange:
    """One request and its answer, as sent (in memory only)."""

    at: float  # seconds since the recording started
    method: str
    path: str
    query: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes


class Recording:
    """The exchanges of a recording and its file (module doc)."""

    def __init__(self, path: Path, target: str) -> None:
        self.path = path
        self.target = target
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)
            self._write()

    def scrubbed(self) -> list[dict[str, Any]]:
        """Every exchange as the file holds it."""
        scrubber = Scrubber()
        for x in self.exchanges:
            _learn(scrubber, x)
        return [_scrub(scrubber, x) for x in self.exchanges]

    def _write(self) -> None:
        header = {"aiiro-recording": FORMAT, "target": redacted(self.target)}
        exchanges = self.scrubbed()
        if self.path.suffix == ".json":
            text = json.dumps({**header, "exchanges": exchanges}, indent=1, ensure_ascii=False)
        else:
            lines = [header, *exchanges]
            text = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self.path)


def _learn(scrubber: Scrubber, x: Exchange) -> None:
    for name, value in x.request_headers.items():
        scrubber.learn_header(name, value)
    scrubber.learn_query(x.query)
    scrubber.learn(decoded(x.request_body))
    scrubber.learn(decoded(x.response_body))


def _scrub(scrubber: Scrubber, x: Exchange) -> dict[str, Any]:
    return {
        "at": round(x.at, 3),
        "method": x.method,
        "path": scrubber.text(x.path),
        "query": scrubber.query(x.query),
        "status": x.status,
        "request": {
            "headers": scrubber.headers(x.request_headers, REQUEST_HEADERS),
            "body": _body(scrubber, x.request_body),
        },
        "response": {
            "headers": scrubber.headers(x.response_headers, RESPONSE_HEADERS),
            "body": _body(scrubber, x.response_body),
        },
    }


def _body(scrubber: Scrubber, raw: bytes) -> Any:
    value = decoded(raw)
    if isinstance(value, str) and value.startswith(NOT_JSON):
        return value  # not JSON: only its size is kept
    return scrubber.scrub(value)


def read(path: Path) -> tuple[str, list[dict[str, Any]]]:
    """A recording's target and exchanges, from either form."""
    text = path.read_text(encoding="utf-8")
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict) and "exchanges" in whole:
        return str(whole.get("target", "")), list(whole["exchanges"])
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not rows or not isinstance(rows[0], dict) or "aiiro-recording" not in rows[0]:
        raise ValueError(f"{path} is not a recording of `aiiro record`")
    return str(rows[0].get("target", "")), rows[1:]


def proxy_app(
    target: str,
    recording: Recording,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    """The recording proxy: every request forwarded to `target`, its answer passed back
    and recorded with the time since the start by `clock`. `transport` is the upstream's
    (tests pass one to an in-process app, and its clock)."""
    client = httpx.AsyncClient(base_url=target.rstrip("/"), transport=transport, timeout=60.0)
    started = clock()

    async def forward(request: Request) -> Response:
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        query = request.url.query
        at = clock() - started
        try:
            upstream = await client.request(
                request.method,
                request.url.path,
                params=httpx.QueryParams(query),
                headers=headers,
                content=body,
            )
        except httpx.HTTPError as exc:
            message = f"aiiro record: {redacted(target)} did not answer: {type(exc).__name__}"
            return Response(message, status_code=502, media_type="text/plain")
        answer_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        recording.add(
            Exchange(
                at=at,
                method=request.method,
                path=request.url.path,
                query=query,
                request_headers=dict(request.headers.items()),
                request_body=body,
                status=upstream.status_code,
                response_headers={k.lower(): v for k, v in upstream.headers.items()},
                response_body=upstream.content,
            )
        )
        return Response(upstream.content, status_code=upstream.status_code, headers=answer_headers)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    routes = [Route("/{path:path}", forward, methods=METHODS)]
    return Starlette(routes=routes, lifespan=lifespan)
