"""Hostile input is normal input: requests over every route of the app (the Indigo API,
`/_aiiro/`, the panel's forms signed in with a valid CSRF token, the console websocket
handshake), built from values that break parsers — deep nesting, lone surrogates,
non-ASCII digits, huge integers, wrong types, invalid UTF-8, empty and huge strings —
never get an answer of 500 or more, and every 4xx of the API and `/_aiiro/` has one of
the Indigo shapes.

`make test` runs AIIRO_FUZZ_REQUESTS requests (default 1,500); `make fuzz` runs 12,000.
The seed is printed; AIIRO_FUZZ_SEED replays a run.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from tests.conftest import Account, make_account
from tests.web.conftest import Visitor

REQUESTS = int(os.environ.get("AIIRO_FUZZ_REQUESTS", "1500"))
SEED = int(os.environ.get("AIIRO_FUZZ_SEED", str(random.randrange(2**32))))
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "aiiro" / "web" / "templates"
PARAM = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")

DEEP = "[" * 3000 + "]" * 3000
# Values for any field, path segment or query parameter; strings are sent as they are.
HOSTILE: list[Any] = [
    "\ud800",
    "a\udfffb",
    "²",
    "１２３",
    "١٢",
    "1-²",
    2**70,
    -(2**70),
    10**30,
    "9" * 30,
    "9223372036854775808",
    "-1",
    "0",
    -1,
    0,
    1.5,
    "1e3",
    " 1 ",
    True,
    None,
    [],
    {},
    [1, [2, [3]]],
    {"a": {"b": "c"}},
    "",
    " ",
    "a" * 100_000,
    "\x00",
    "\u202egnp.exe",
    "a\u200bb",
    "😀" * 40,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    "ssh-rsa AAAA",
    "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "gopher://127.0.0.1:25/",
]
PLAUSIBLE: list[Any] = [1, "1", 2, "2", "start", "stop", "destroy", "TCP", "22", "0.0.0.0"]
RAW_BODIES = [
    b"",
    b"{",
    b"\xff\xfe\x00{",
    b"\xef\xbb\xbf{}",
    b"[]",
    b'"x"',
    b"null",
    b'{"a": 1, "a": 2}',
    DEEP.encode(),
    b"{" * 50_000,
    b'{"name": "\xff\xfe"}',
    b'{"x": NaN, "y": Infinity}',
    b'{"instanceId": 1e999}',
]


@dataclass
class Target:
    method: str
    path: str  # with {param} placeholders
    fields: list[str]
    kind: str  # "api", "admin", "panel", "other", "websocket"


def routes(app: Any) -> Iterator[Any]:
    def walk(items: list[Any]) -> Iterator[Any]:
        for r in items:
            if type(r).__name__ == "_IncludedRouter":
                yield from walk(r.original_router.routes)
            else:
                yield r

    yield from walk(app.routes)


def body_fields(app: Any) -> dict[tuple[str, str], list[str]]:
    """(method, path) -> the body's field names, from the OpenAPI document."""
    doc = app.openapi()
    found: dict[tuple[str, str], list[str]] = {}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            schema = (op.get("requestBody", {}).get("content", {}).get("application/json", {})).get(
                "schema", {}
            )
            if "$ref" in schema:
                schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
            found[(method.upper(), path)] = list(schema.get("properties", {}))
    return found


def targets(app: Any) -> list[Target]:
    fields = body_fields(app)
    form_fields = sorted(set(re.findall(r'name="([a-zA-Z_]+)"', _templates())) - {"csrf"})
    out = []
    for r in routes(app):
        path = getattr(r, "path", "")
        kind = (
            "api"
            if path.startswith(("/webarenaIndigo/", "/oauth/"))
            else "admin"
            if path.startswith("/_aiiro/")
            else "panel"
            if path.startswith("/panel")
            else "other"
        )
        if type(r).__name__ == "APIWebSocketRoute":
            out.append(Target("WEBSOCKET", path, [], "websocket"))
            continue
        for method in sorted((getattr(r, "methods", None) or set()) - {"HEAD"}):
            plain = PARAM.sub(lambda m: "{" + m[1] + "}", path)
            names = fields.get((method, plain), []) or (form_fields if kind == "panel" else [])
            out.append(Target(method, path, names, kind))
    return out


def _templates() -> str:
    return "".join(p.read_text() for p in TEMPLATES.glob("*.html"))


def value(rng: random.Random) -> Any:
    return rng.choice(HOSTILE) if rng.random() < 0.75 else rng.choice(PLAUSIBLE)


def as_text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v)


def fill_path(path: str, rng: random.Random) -> str:
    def one(m: re.Match[str]) -> str:
        if m[0].endswith(":path}"):
            return rng.choice(["x", "../../etc/passwd", "a" * 5000, "%ff"])
        return percent(as_text(value(rng))[:2000])

    return PARAM.sub(one, path)


def percent(text: str) -> str:
    """Every byte but the unreserved ones percent-encoded (lone surrogates as their
    UTF-8-like bytes: what a hostile client can send)."""
    raw = text.encode("utf-8", "surrogatepass")
    return "".join(
        chr(b) if (chr(b).isalnum() and b < 128) or b in b"-._~" else f"%{b:02X}" for b in raw
    )


def json_body(target: Target, rng: random.Random) -> bytes:
    if rng.random() < 0.2 or not target.fields:
        return rng.choice(RAW_BODIES)
    body = {name: value(rng) for name in target.fields if rng.random() < 0.8}
    if rng.random() < 0.3:  # the firewall rule lists: hostile rules
        body["inbound"] = [
            {k: value(rng) for k in ("type", "protocol", "port", "source")} for _ in range(3)
        ]
    text = json.dumps(body, ensure_ascii=True)  # lone surrogates travel as \ud800 escapes
    return text.encode()


def is_indigo_shaped(body: Any) -> bool:
    backend = {"success", "errorMessage", "errorCode"}
    gateway = {"errorCode", "errorMessage", "developerMessage", "moreInfo", "requestId"}
    return isinstance(body, dict) and (
        (set(body) == backend and body["success"] is False) or set(body) == gateway
    )


class Fuzzer:
    def __init__(self, app: Any, rt: Any, api: Account, panel: Visitor, rng: random.Random) -> None:
        self.app, self.rt, self.api, self.panel, self.rng = app, rt, api, panel, rng
        self.renewed = 0
        self.http = TestClient(app, base_url="http://aiiro.test", raise_server_exceptions=False)
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []

    def send(self, target: Target) -> None:
        path = fill_path(target.path, self.rng)
        if target.kind == "websocket":
            self.handshake(path)
            return
        headers: dict[str, str] = {}
        if target.kind == "api" and self.rng.random() < 0.9:
            headers = dict(self.api.auth)
        elif target.kind == "admin" and self.rng.random() < 0.9:
            headers = {"Authorization": "Bearer test-admin-token"}
        if self.rng.random() < 0.3:
            query = "&".join(
                f"{n}={percent(as_text(value(self.rng))[:3000])}"
                for n in self.rng.sample(["instanceTypeId", "osId", "limit", "account_id"], 2)
            )
            path = f"{path}?{query}"
        if target.kind == "panel":
            r = self.panel_request(target, path)
        else:
            content = json_body(target, self.rng) if target.method != "GET" else None
            r = self.http.request(target.method, path, content=content, headers=headers)
        self.statuses[r.status_code] += 1
        self.keep_signed_in(target, r, headers)
        what = f"{target.method} {path[:200]} -> {r.status_code} {r.text[:300]!r}"
        if r.status_code >= 500:
            self.failures.append(what)
        elif r.status_code >= 400 and target.kind in ("api", "admin") and r.status_code != 405:
            try:
                shaped = is_indigo_shaped(r.json())
            except ValueError:
                shaped = False
            if not shaped:
                self.failures.append(f"not Indigo-shaped: {what}")

    def keep_signed_in(self, target: Target, r: Any, headers: dict[str, str]) -> None:
        """The fuzz deletes keys, disables accounts and signs out like anyone: carry on
        as a new tenant, so the rest of the run reaches past authentication."""
        if target.kind == "api" and headers and r.status_code == 401:
            self.api = make_account(self.rt, self.http, f"Fuzz Tenant {self.renewed}")
            self.renewed += 1
        if target.kind == "panel" and "/signin" in r.headers.get("location", ""):
            self.panel = Visitor(self.app)
            email = f"fuzz{self.renewed}@example.com"
            self.renewed += 1
            assert self.panel.sign_up("Fuzz Panel", email).status_code == 303
            self.panel.get("/panel/instances")

    def panel_request(self, target: Target, path: str) -> Any:
        http = self.panel.http
        if target.method == "GET":
            return http.get(path)
        if self.rng.random() < 0.15:
            return http.post(path, content=self.rng.choice(RAW_BODIES))
        data = {n: as_text(value(self.rng)) for n in target.fields if self.rng.random() < 0.7}
        data = {k: v.encode("utf-8", "surrogatepass").decode("latin-1") for k, v in data.items()}
        data["csrf"] = self.panel.csrf
        return http.post(path, data=data)

    def handshake(self, path: str) -> None:
        try:
            with self.panel.websocket(path + f"?csrf={self.panel.csrf}") as ws:
                ws.close()
        except (WebSocketDisconnect, WebSocketDenialResponse):
            pass
        except Exception as exc:  # an exception out of the server
            self.failures.append(f"websocket {path[:200]}: {type(exc).__name__}: {exc}")
        self.statuses[101] += 1


def test_hostile_requests_never_get_a_5xx(
    app: Any,
    client: TestClient,
    rt: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    print(f"fuzz: {REQUESTS} requests, AIIRO_FUZZ_SEED={SEED}")
    rng = random.Random(SEED)
    api = make_account(rt, client, "Fuzz Tenant")
    panel = Visitor(app)
    assert panel.sign_up("Fuzz Panel", "fuzz@example.com").status_code == 303
    panel.get("/panel/instances")
    found = targets(app)
    kinds = Counter(t.kind for t in found)
    assert kinds["api"] >= 28 and kinds["admin"] >= 20 and kinds["panel"] >= 25
    assert kinds["websocket"] == 1
    fuzz = Fuzzer(app, rt, api, panel, rng)
    with caplog.at_level(logging.ERROR, logger="aiiro"):
        for i in range(REQUESTS):
            fuzz.send(found[i % len(found)] if i < len(found) else rng.choice(found))
    print(f"fuzz: statuses {dict(sorted(fuzz.statuses.items()))}, {fuzz.renewed} new tenants")
    assert fuzz.failures == [], f"seed {SEED}:\n" + "\n".join(fuzz.failures[:40])
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    assert sum(fuzz.statuses.values()) == REQUESTS
