"""The request log: recent API requests with bodies, secrets redacted.

A bounded in-memory ring per server process; a testing aid, not an audit trail.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

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
REDACTED = "***"


@dataclass
class LoggedRequest:
    id: int
    at: str
    method: str
    path: str
    query: str
    status: int
    account_id: int | None
    request_body: Any
    response_body: Any
    duration_ms: float


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (REDACTED if k in SECRET_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def redact_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return redact(json.loads(raw))
    except (ValueError, UnicodeDecodeError):
        return f"<{len(raw)} bytes, not JSON>"


class RequestLog:
    def __init__(self, size: int = 1000) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=size)
        self._next = 1
        self._lock = threading.Lock()

    def add(self, **fields: Any) -> None:
        with self._lock:
            self._entries.append(LoggedRequest(id=self._next, **fields))
            self._next += 1

    def entries(self, account_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            items = [e for e in self._entries if account_id is None or e.account_id == account_id]
        return [asdict(e) for e in items[-limit:]]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
