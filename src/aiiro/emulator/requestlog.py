"""The request log: recent API requests with bodies, secrets redacted.

A bounded in-memory ring per server process; a testing aid, not an audit trail. Bodies are
kept as sent and redacted when the log is read, so that logging costs a request almost
nothing (parsing a 1,000-instance list on every request would not); bodies larger than
MAX_BODY are not kept at all, and the oldest entries go once the kept bodies pass
MAX_BYTES, so no stream of requests, with or without credentials, pins memory.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiiro.clock import Clock
from aiiro.compute.import_url import redacted
from aiiro.inputs import BadInput, load_json

SECRET_KEYS = frozenset(
    {
        "clientSecret",
        "client_secret",
        "apiSecret",
        "accessToken",
        "access_token",
        "winPassword",
        "password",
        "token",
        "adminToken",
    }
)
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
REDACTED = "***"
MAX_BODY = 64 * 1024
MAX_BYTES = 16 * 1024 * 1024


@dataclass(slots=True)
class LoggedRequest:
    id: int
    at: float  # server clock, seconds since the epoch; formatted when read
    method: str
    path: str
    query: str
    status: int
    account_id: int | None
    headers: list[tuple[bytes, bytes]]
    # The body as sent, or its size when it was too large to keep.
    request_body: bytes | int
    response_body: bytes | int
    duration_ms: float

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.at)),
            "method": self.method,
            "path": self.path,
            "query": redact_query(self.query),
            "status": self.status,
            "account_id": self.account_id,
            "headers": redact_headers(self.headers),
            "request_body": redact_body(self.request_body),
            "response_body": redact_body(self.response_body),
            "duration_ms": self.duration_ms,
        }


def redact(value: Any) -> Any:
    """Secrets by key name, and the credentials of any URL in a string (an importUrl of
    https://user:pass@host/ is kept as https://***@host/)."""
    if isinstance(value, dict):
        return {k: (REDACTED if k in SECRET_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redacted(value)
    return value


def redact_query(query: str) -> str:
    """The query string with the same redaction as bodies; as sent when there is nothing
    to hide."""
    pairs = parse_qsl(query, keep_blank_values=True)
    hidden = [(k, REDACTED if k in SECRET_KEYS else redacted(v)) for k, v in pairs]
    return query if hidden == pairs else urlencode(hidden, safe="*")


def redact_body(raw: bytes | int) -> Any:
    if isinstance(raw, int):
        return f"<{raw} bytes, not kept>"
    if not raw:
        return None
    try:
        return redact(load_json(raw))
    except BadInput:  # also bodies nested too deep or holding lone surrogates
        return f"<{len(raw)} bytes, not JSON>"


def redact_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name in SECRET_HEADERS:
            # Keep the scheme ("Bearer"), which tells a wrong header from a wrong token.
            scheme, sep, _ = value.partition(" ")
            value = f"{scheme} {REDACTED}" if sep and name.endswith("authorization") else REDACTED
        out[name] = value
    return out


class RequestLog:
    def __init__(self, size: int = 1000, clock: Clock | None = None) -> None:
        self._entries: deque[LoggedRequest] = deque()
        self._size = size
        self._bytes = 0
        self._next = 1
        self._lock = threading.Lock()
        self._clock = clock

    def add(self, **fields: Any) -> None:
        """Log one request; `at` is the server clock's time unless given."""
        for key in ("request_body", "response_body"):
            body = fields.get(key) or b""
            fields[key] = len(body) if len(body) > MAX_BODY else body
        fields.setdefault("headers", [])
        if "at" not in fields:
            fields["at"] = self._clock.time() if self._clock is not None else time.time()
        entry = LoggedRequest(id=0, **fields)
        with self._lock:
            entry.id = self._next
            self._next += 1
            self._entries.append(entry)
            self._bytes += _kept(entry)
            while len(self._entries) > self._size or self._bytes > MAX_BYTES:
                self._bytes -= _kept(self._entries.popleft())

    def entries(self, account_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The most recent `limit` requests (of one account if given), oldest first."""
        with self._lock:
            items = [e for e in self._entries if account_id is None or e.account_id == account_id]
        return [e.as_json() for e in items[-limit:]] if limit > 0 else []

    def clear(self) -> int:
        with self._lock:
            n = len(self._entries)
            self._entries.clear()
            self._bytes = 0
        return n


def _kept(entry: LoggedRequest) -> int:
    size = 0
    for body in (entry.request_body, entry.response_body):
        if isinstance(body, bytes):
            size += len(body)
    return size + sum(len(k) + len(v) for k, v in entry.headers)
