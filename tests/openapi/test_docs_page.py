"""The human API reference (/docs) works with no internet: the page names only URLs of
aiiro itself, and each of them answers with the file a browser expects there."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from starlette.testclient import TestClient


class Urls(HTMLParser):
    """Every src/href in the page, and the document URL handed to SwaggerUIBundle."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str] = {}  # url -> what refers to it
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.found[value] = f"{tag} {dict(attrs).get('rel') or name}"
        self._script = tag == "script"

    def handle_data(self, data: str) -> None:
        if self._script:
            for url in re.findall(r"\burl:\s*'([^']*)'", data):
                self.found[url] = "openapi"


def page_urls(client: TestClient, path: str = "/docs") -> dict[str, str]:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    # No absolute URL at all: nothing on the page may come from a CDN.
    assert not re.search(r"(https?:)?//[a-z0-9]", r.text, re.IGNORECASE), r.text
    parser = Urls()
    parser.feed(r.text)
    return parser.found


def test_the_docs_page_names_only_local_urls(client: TestClient) -> None:
    urls = page_urls(client)
    assert sorted(urls.values()) == [
        "link shortcut icon",
        "link stylesheet",
        "openapi",
        "script src",
    ]
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url


def test_every_url_of_the_docs_page_answers_with_the_right_type(client: TestClient) -> None:
    expected = {
        "script src": ("text/javascript", b"SwaggerUIBundle"),
        "link stylesheet": ("text/css", b".swagger-ui"),
        "link shortcut icon": ("image/png", b"\x89PNG\r\n\x1a\n"),
        "openapi": ("application/json", b'"openapi":"3.1'),
    }
    for url, kind in page_urls(client).items():
        r = client.get(url)
        content_type, marker = expected[kind]
        assert r.status_code == 200, url
        assert r.headers["content-type"].split(";")[0] == content_type, url
        assert marker in r.content, url
        assert client.head(url).status_code == 200, url  # as `curl -I` would check


def test_the_swagger_ui_does_not_ask_an_online_validator(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_only_the_shipped_assets_are_served(client: TestClient) -> None:
    for name in ("LICENSE", "README.md", "..%2Fopenapi.py", "swagger-ui.js"):
        r = client.get(f"/docs/assets/{name}")
        assert r.status_code == 404, name
        assert r.json()["success"] is False


def test_behind_a_prefix_every_url_keeps_it(client: TestClient) -> None:
    prefixed = TestClient(client.app, root_path="/aiiro")
    urls = page_urls(prefixed)
    assert urls and all(url.startswith("/aiiro/") for url in urls), urls
