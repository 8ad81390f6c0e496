"""Every form post of the panel needs the CSRF token of the session that sent it."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from aiiro.store.models import ApiKey
from tests.web.conftest import PASSWORD, Visitor


def all_routes(routes: list[Any]) -> list[Any]:
    """Routes, looking inside included routers (which FastAPI may keep as one entry)."""
    found = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        found.extend(all_routes(inner.routes) if inner is not None else [route])
    return found


def panel_post_paths(app: Any) -> list[str]:
    """Every POST route of the panel, with 1 for its ids."""
    found = []
    for route in all_routes(app.routes):
        path = getattr(route, "path", "")
        if path.startswith("/panel/") and "POST" in getattr(route, "methods", ()):
            if "{rest:path}" in path:
                continue
            found.append(re.sub(r"\{[^}]+\}", "1", path))
    return sorted(set(found))


def api_key_count(rt: Any) -> int:
    with rt.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(ApiKey)))


def test_every_panel_post_without_the_token_is_refused(alice_web: Visitor, app: Any) -> None:
    paths = panel_post_paths(app)
    assert "/panel/apikeys" in paths and "/panel/signin" in paths
    for path in paths:
        r = alice_web.post(path, {}, csrf=False)
        assert r.status_code == 403, path
        assert "フォームを受け付けられませんでした" in r.text, path


def test_a_refused_post_changes_nothing(alice_web: Visitor, rt: Any) -> None:
    before = api_key_count(rt)
    assert alice_web.post("/panel/apikeys", {"csrf": "0" * 64}).status_code == 403
    assert alice_web.post("/panel/apikeys", {}, csrf=False).status_code == 403
    assert api_key_count(rt) == before
    assert alice_web.get("/panel/apikeys").status_code == 200
    assert alice_web.post("/panel/apikeys").status_code == 201
    assert api_key_count(rt) == before + 1


def test_another_sessions_token_does_not_work(
    alice_web: Visitor, bob_web: Visitor, rt: Any
) -> None:
    bob_web.get("/panel/apikeys")
    alice_web.get("/panel/apikeys")
    before = api_key_count(rt)
    r = alice_web.post("/panel/apikeys", {"csrf": bob_web.csrf})
    assert r.status_code == 403
    assert api_key_count(rt) == before


def test_a_token_dies_with_its_session(alice_web: Visitor, visitor: Any, rt: Any) -> None:
    alice_web.get("/panel/apikeys")
    old = alice_web.csrf
    alice_web.post("/panel/signout")
    alice_web.sign_in("alice@example.com")
    alice_web.get("/panel/apikeys")
    assert alice_web.csrf != old
    assert alice_web.post("/panel/apikeys", {"csrf": old}).status_code == 403


def test_sign_in_needs_the_token_of_the_sign_in_page(alice_web: Visitor, visitor: Any) -> None:
    # Login CSRF: another site must not sign a visitor in to an account of its choosing.
    v = visitor()
    r = v.post("/panel/signin", {"email": "alice@example.com", "password": PASSWORD}, csrf=False)
    assert r.status_code == 403
    v.get("/panel/signin")
    r = v.post("/panel/signin", {"email": "alice@example.com", "password": PASSWORD})
    assert r.status_code == 303
