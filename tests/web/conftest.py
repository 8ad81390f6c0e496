"""A visitor of the control panel: a cookie-keeping client that reads each page's CSRF
token and posts forms the way a browser does (application/x-www-form-urlencoded)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.api.keygen import rsa_public

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "correct horse battery"


class Visitor:
    def __init__(self, app: Any, base_url: str = "http://aiiro.test") -> None:
        self.http = TestClient(app, base_url=base_url, follow_redirects=False)
        self.csrf = ""

    def get(self, path: str, **kw: Any) -> httpx.Response:
        r = self.http.get(path, **kw)
        found = (
            CSRF.search(r.text)
            if r.headers.get("content-type", "").startswith("text/html")
            else None
        )
        if found:
            self.csrf = found.group(1)
        return r

    def post(
        self, path: str, data: dict[str, Any] | None = None, csrf: bool = True
    ) -> httpx.Response:
        fields = dict(data or {})
        if csrf and "csrf" not in fields:
            fields["csrf"] = self.csrf
        return self.http.post(path, data=fields)

    def websocket(self, path: str, token: str | None = None, origin: str | None = "same") -> Any:
        """A websocket to this host (so the session cookie goes with it), opened as the
        panel's page opens it: from this origin, the CSRF token (by default the one the
        last page carried) offered after the "aiiro.console" subprotocol."""
        base = str(self.http.base_url).rstrip("/")
        offered = ["aiiro.console", self.csrf if token is None else token]
        headers = {} if origin is None else {"origin": base if origin == "same" else origin}
        return self.http.websocket_connect(
            base.replace("http", "ws", 1) + path, subprotocols=offered, headers=headers
        )

    def follow(self, r: httpx.Response) -> httpx.Response:
        assert r.status_code in (302, 303), (r.status_code, r.text[:500])
        return self.get(r.headers["location"])

    def sign_up(self, name: str, email: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/panel/signup")
        return self.post("/panel/signup", {"name": name, "email": email, "password": password})

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/panel/signin")
        return self.post("/panel/signin", {"email": email, "password": password})


@pytest.fixture
def visitor(app: Any, client: TestClient) -> Callable[..., Visitor]:
    """New visitors of the app (the `client` fixture keeps the app's lifespan running)."""

    def make(base_url: str = "http://aiiro.test") -> Visitor:
        return Visitor(app, base_url)

    return make


@pytest.fixture
def alice_web(visitor: Callable[..., Visitor]) -> Iterator[Visitor]:
    v = visitor()
    r = v.sign_up("Alice Example", "alice@example.com")
    assert r.status_code == 303, r.text
    yield v


@pytest.fixture
def bob_web(visitor: Callable[..., Visitor]) -> Iterator[Visitor]:
    v = visitor()
    r = v.sign_up("Bob Example", "bob@example.com")
    assert r.status_code == 303, r.text
    yield v


def account_id_of(rt: Any, email: str) -> int:
    from sqlalchemy import select

    from aiiro.store.models import Account

    with rt.db.read() as s:
        return int(s.scalar(select(Account.id).where(Account.email == email)))


# --- instances ------------------------------------------------------------------------------

DEBIAN12 = "22"
WINDOWS2022 = "11"
LINUX_PLAN = "1"
WINDOWS_PLAN = "7"


def add_key(v: Visitor, name: str = "laptop") -> str:
    v.get("/panel/sshkeys")
    page = v.follow(v.post("/panel/sshkeys", {"name": name, "sshkey": rsa_public()}))
    found = re.findall(r'data-sshkey-id="(\d+)"', page.text)
    assert found
    return found[-1]


def create(v: Visitor, name: str = "web1", **fields: str) -> Any:
    v.get("/panel/instances/new")
    body = {
        "source": "image",
        "regionId": "1",
        "osId": DEBIAN12,
        "instancePlan": LINUX_PLAN,
        "instanceName": name,
        **fields,
    }
    return v.post("/panel/instances", body)


@pytest.fixture
def running(alice_web: Visitor) -> int:
    r = create(alice_web, sshKeyId=add_key(alice_web))
    instance_id = int(r.headers["location"].rsplit("/", 1)[1])
    alice_web.get(f"/panel/instances/{instance_id}")
    alice_web.post(f"/panel/instances/{instance_id}/power", {"command": "start"})
    return instance_id


def status(v: Visitor, instance_id: int) -> dict[str, Any]:
    items = v.get("/panel/instances/status.json").json()["instances"]
    return next(i for i in items if i["id"] == instance_id)
