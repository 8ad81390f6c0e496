"""What text from outside may be, checked the same way everywhere (API, panel, admin).

- A number is ASCII decimal digits (`str.isdigit()` also takes "²" and "١", which `int()`
  then refuses or reads as another number), at most 18 of them (64 bits hold it). One that
  goes into a query of the store's integer columns (ids above all) must also lie within
  MAX_STORED: those columns are PostgreSQL's 32-bit `integer` (SQLite's hold 64 bits), and
  a larger number fails the query there instead of matching no row.
- JSON is read with its nesting bounded (Python's reader recurses: a deep body would end
  in a RecursionError), without lone surrogates (`"\\ud800"` is valid JSON but no text a
  database or a UTF-8 response can hold) and without NUL (`"\\u0000"`: PostgreSQL's text
  cannot hold it, so a query with it fails).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

MAX_DIGITS = 18
MAX_STORED = 2**31 - 1
# Deeper than any Indigo body (a firewall rule inside a list inside an object is 3).
MAX_JSON_DEPTH = 32

_DECIMAL = re.compile(rf"-?[0-9]{{1,{MAX_DIGITS}}}")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s]*@")


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class BadInput(ValueError):
    """Text that is not what it claims to be; the message says what is wrong with it."""


def decimal(text: str, negative: bool = False) -> int | None:
    """The integer written in `text` (surrounding spaces allowed), or None."""
    value = text.strip()
    if _DECIMAL.fullmatch(value) is None or (value.startswith("-") and not negative):
        return None
    return int(value)


def stored(number: int | None) -> int | None:
    """`number` if the store's integer columns can hold it, else None (no row has it)."""
    return number if number is not None and -MAX_STORED <= number <= MAX_STORED else None


def has_surrogates(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def has_nul(text: str) -> bool:
    return "\x00" in text


def load_json(raw: bytes) -> Any:
    """Parse a request body. Raises BadInput for anything that is not JSON, nests deeper
    than MAX_JSON_DEPTH or holds lone surrogates."""
    try:
        if _too_deep(raw):
            raise BadInput(f"The request body nests deeper than {MAX_JSON_DEPTH} levels.")
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        if isinstance(exc, BadInput):
            raise
        raise BadInput("The request body is not valid JSON.") from exc
    if _SURROGATE_ESCAPE.search(raw) and _holds(data, has_surrogates):
        raise BadInput("The request body holds text that is not valid Unicode.")
    # find, not `in`: `bytes in bytes` first tries the needle as an integer (an exception
    # raised and cleared, on every body).
    if raw.find(b"\\u0000") >= 0 and _holds(data, has_nul):
        raise BadInput("The request body holds a NUL character (\\u0000).")
    return data


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS_RUN = re.compile(rb"[\[{]{%d}" % (MAX_JSON_DEPTH + 1))


def _too_deep(raw: bytes) -> bool:
    """Whether brackets outside strings nest deeper than MAX_JSON_DEPTH, found before
    Python's recursive reader sees the body: keep the brackets alone, then take away the
    innermost pairs, one level a pass, in C; a run of more openers than the limit ends it
    at once."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return False
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    for _ in range(MAX_JSON_DEPTH):
        if not brackets:
            return False
        if _OPENERS_RUN.search(brackets):
            return True
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
    return bool(brackets)


def _holds(value: Any, found: Callable[[str], bool]) -> bool:
    """Whether any text in `value` (keys too) is `found`."""
    if isinstance(value, str):
        return found(value)
    if isinstance(value, dict):
        return any(_holds(k, found) or _holds(v, found) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds(v, found) for v in value)
    return False


def parse_networks(text: str) -> tuple[Network, ...]:
    """The operator's allowed networks: CIDRs (or addresses) separated by commas. A
    network with host bits set is taken as the network it lies in."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    )


def redacted(text: str) -> str:
    """The text with the credentials of every URL in it replaced by ***
    (https://user:pass@host/ -> https://***@host/): for logs and error messages."""
    if "@" not in text:  # no credentials without one (most texts: no regex to run)
        return text
    return _USERINFO.sub(r"\1***@", text)
