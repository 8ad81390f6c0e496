"""Two in-process aiiro servers for `aiiro parity` and `aiiro replay`: the left one of
tests/conftest.py at http://aiiro.test, another at http://other.test, one transport that
sends each request to the server its URL names, and one virtual clock for both."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.testclient import TestClient

from aiiro.cli.client.env import Environment
from aiiro.client_core.policy import Http, Reply
from aiiro.client_core.transport import HttpxSend
from aiiro.config import Settings
from aiiro.runtime import Runtime
from aiiro.serve import build_app
from tests.cli.client_env import Cli, make_cli
from tests.conftest import Account, make_account

OTHER = "http://other.test"
PROXY = "http://recorder.test"

ASGI = Callable[..., Any]


@dataclass
class Other:
    """The other server: its app, runtime, client and an account on it."""

    app: Any
    rt: Runtime
    client: TestClient
    account: Account


def other_server(
    tmp_path: Path, wrap: Callable[[ASGI], ASGI] | None = None, quota: bool = False
) -> Iterator[Other]:
    """A second aiiro (instant profile), its answers passed through `wrap` if given."""
    settings = Settings(
        data_dir=tmp_path / "other",
        database_url=f"sqlite:///{tmp_path / 'other.db'}",
        profile="instant",
        admin_token="test-admin-token",
        worker=False,
        seed=None,
        quota=quota,
    )
    app = build_app(settings)
    rt: Runtime = app.state.runtime
    try:
        with TestClient(wrap(app) if wrap else app, base_url=OTHER) as client:
            yield Other(app, rt, client, make_account(rt, client, "Other Example"))
    finally:
        rt.db.dispose()


def two_sided_cli(
    tmp_path: Path, client: TestClient, rt: Runtime, alice: Account, other: Other
) -> Cli:
    """The CLI with alice's credentials for the left, the other account's in the
    AIIRO_AGAINST_* variables, each request sent to the server its URL names."""
    cli = make_cli(
        tmp_path,
        client,
        rt,
        {
            "IndigoApiKey": alice.api_key,
            "IndigoApiPrivateKey": alice.api_secret,
            "AIIRO_ENDPOINT": "http://aiiro.test",
            "AIIRO_AGAINST_API_KEY": other.account.api_key,
            "AIIRO_AGAINST_API_SECRET": other.account.api_secret,
        },
    )
    sends = {"aiiro.test": HttpxSend(client), "other.test": HttpxSend(other.client)}

    def send(h: Http) -> Reply:
        return sends[urlsplit(h.url).hostname or ""](h)

    def sleep(seconds: float) -> None:  # one clock for both servers
        rt.clock.advance(seconds)
        other.rt.clock.advance(seconds)

    cli.env = Environment(**{**cli.env._asdict(), "transport": send, "sleep": sleep})
    return cli


def altered(path: str, change: Callable[[Any], Any], drop: str = "") -> Callable[[ASGI], ASGI]:
    """An ASGI wrapper whose answers to GET `path` have their JSON body passed through
    `change` (written compact, as Indigo writes it) and the header `drop` removed."""

    def wrap(app: ASGI) -> ASGI:
        async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http" or (scope["method"], scope["path"]) != ("GET", path):
                await app(scope, receive, send)
                return
            start: dict[str, Any] = {}
            chunks: list[bytes] = []

            async def capture(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    start.update(message)
                    return
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = json.dumps(change(json.loads(b"".join(chunks))), separators=(",", ":"))
                raw = body.encode()
                unwanted = {b"content-length", drop.encode()}
                headers = [(k, v) for k, v in start["headers"] if k.lower() not in unwanted]
                headers.append((b"content-length", str(len(raw)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": raw})

            await app(scope, receive, capture)

        return wrapped

    return wrap


# --- recording -------------------------------------------------------------------------


def upstream(client: TestClient) -> httpx.MockTransport:
    """The proxy's way to the in-process aiiro: each request handed to its TestClient."""

    def handle(request: httpx.Request) -> httpx.Response:
        answer = client.request(
            request.method,
            str(request.url),
            headers=request.headers,
            content=request.content,
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    return httpx.MockTransport(handle)


def make_pubkey(directory: Path) -> Path:
    path = directory / "id_rsa"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "", "-f", str(path)],
        check=True,
    )
    return Path(f"{path}.pub")


def through_proxy(tmp_path: Path, proxy: TestClient, rt: Runtime, alice: Account) -> Cli:
    return make_cli(
        tmp_path,
        proxy,
        rt,
        {
            "IndigoApiKey": alice.api_key,
            "IndigoApiPrivateKey": alice.api_secret,
            "AIIRO_ENDPOINT": PROXY,
        },
    )


def session(cli: Cli, pubkey: Path) -> None:
    """A client's session (through the proxy): a key, an instance made with it and started,
    a firewall on it, an API key, a snapshot, the instance stopped."""
    cli.ok("sshkey", "create", "--name", "alices-laptop", "--file", str(pubkey))
    cli.ok(
        "instance", "create", "--name", "payroll-db", "--os", "Debian12", "--plan", "1CR768MB",
        "--ssh-key", "alices-laptop", "--start", "--wait", "--poll", "1",
    )  # fmt: skip
    cli.ok("firewall", "create", "--name", "office", "--in", "ssh@8.8.4.4",
           "--instance", "payroll-db")  # fmt: skip
    cli.ok("apikey", "create")
    cli.ok("snapshot", "take", "payroll-db", "--name", "nightly", "--wait", "--poll", "1")
    cli.ok("instance", "stop", "payroll-db", "--wait", "--poll", "1")
