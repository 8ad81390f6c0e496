"""Japanese and English. The catalogues are JSON files beside this module (catalogues/ja.json,
catalogues/en.json) with the same keys; a missing key falls back to English, then to the key.

The language is the one the visitor chose (a cookie), else the best match of the
browser's Accept-Language, else Japanese, the real dashboard's language.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from starlette.requests import HTTPConnection

LANGUAGES = ("ja", "en")
DEFAULT = "ja"
COOKIE = "aiiro_lang"


@cache
def catalogue(lang: str) -> dict[str, str]:
    text = resources.files("aiiro.web").joinpath("catalogues", f"{lang}.json").read_text("utf-8")
    data: dict[str, str] = json.loads(text)
    return data


def translate(lang: str, key: str, **values: Any) -> str:
    text = catalogue(lang).get(key) or catalogue("en").get(key) or key
    return text.format(**values) if values else text


def from_accept_language(header: str) -> str | None:
    """The supported language the header ranks highest ("en-US,en;q=0.9,ja;q=0.8");
    between equal weights the one listed first wins."""
    best: tuple[float, str] | None = None
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        lang = tag.strip().lower().split("-")[0]
        if lang in LANGUAGES and q > 0 and (best is None or q > best[0]):
            best = (q, lang)
    return best[1] if best else None


def choose(conn: HTTPConnection) -> str:
    chosen = conn.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return str(chosen)
    return from_accept_language(conn.headers.get("accept-language", "")) or DEFAULT
