"""Japanese and English. The catalogues are JSON files beside this module (catalogues/ja.json,
catalogues/en.json) with the same keys; a missing key falls back to English, then to the key.

The API's error messages are English, as Indigo's are. The panel shows them in Japanese
from one table keyed by the error code (catalogues/indigo-errors.ja.json, with the
names of the request fields that missing() and invalid() point at); the English panel
shows the API's own words. The code is shown beside the message in both.

The language is the one the visitor chose (a cookie), else the best match of the
browser's Accept-Language, else Japanese, the real dashboard's language.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from starlette.requests import HTTPConnection

from aiiro.domain.errors import IndigoError

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


@cache
def error_table(lang: str) -> dict[str, dict[str, str]]:
    """{"codes": {code: text}, "fields": {API field name: label}}; empty for English."""
    node = resources.files("aiiro.web").joinpath("catalogues", f"indigo-errors.{lang}.json")
    if not node.is_file():
        return {"codes": {}, "fields": {}}
    data: dict[str, dict[str, str]] = json.loads(node.read_text("utf-8"))
    return data


def error_text(lang: str, err: IndigoError) -> str:
    """An Indigo error's message in the visitor's language ({field} is the field's label,
    {message} the API's own words), or the API's message where the table has no entry."""
    table = error_table(lang)
    text = table["codes"].get(err.code)
    if text is None:
        return err.message
    field = table["fields"].get(err.field or "", err.field or "")
    return text.format(field=field, message=err.message)


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
