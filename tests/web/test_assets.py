"""The panel's own files: the icon answers where browsers look for it."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Visitor


def test_the_icon_answers_at_favicon_ico_and_every_page_names_it(
    client: Any, alice_web: Visitor
) -> None:
    for path in ("/favicon.ico", "/panel/static/favicon.ico"):
        r = client.get(path)
        assert (r.status_code, r.headers["content-type"]) == (200, "image/x-icon")
        assert r.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page = alice_web.get("/panel/instances").text
    assert '<link rel="icon" href="/panel/static/favicon.ico?v=' in page
    assert "/favicon.ico" not in client.get("/openapi.json").text
