"""JSON text for the client, without importing the `json` package.

`import json` pulls in `re` (and with it `enum`): about 10 ms, a third of what
`aiiro instance list` spends before it sends its request. The C accelerator `_json` that
`json` itself uses parses and quotes strings just the same; the writer below reproduces
`json.dumps` for the values the client writes (dicts with string keys, lists, strings,
numbers, booleans, None), as tests/client/test_jsontext.py checks against `json`.
"""

from __future__ import annotations

from _json import encode_basestring, encode_basestring_ascii
from _json import make_scanner as _make_scanner

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_WHITESPACE = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Context:
    # What the scanner reads from json.JSONDecoder; these are its defaults.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


_scan = _make_scanner(_Context())  # type: ignore[arg-type]


def loads(text: str | bytes) -> Any:
    """As json.loads, raising ValueError on bad input."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8")
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration as exc:
        raise ValueError(f"Expecting value: char {exc.value}") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"Extra data: char {end}")
    return value


def dumps(value: Any, indent: int | None = None, ensure_ascii: bool = True) -> str:
    """As json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)."""
    quote = encode_basestring_ascii if ensure_ascii else encode_basestring
    out: list[str] = []
    _write(value, out, quote, None if indent is None else " " * indent, 0)
    return "".join(out)


def _write(value: Any, out: list[str], quote: Any, indent: str | None, level: int) -> None:
    if isinstance(value, str):
        out.append(quote(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, dict):
        _container(list(value.items()), "{", "}", out, quote, indent, level, True)
    elif isinstance(value, list | tuple):
        _container(list(value), "[", "]", out, quote, indent, level, False)
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _container(
    items: list[Any],
    open_: str,
    close: str,
    out: list[str],
    quote: Any,
    indent: str | None,
    level: int,
    pairs: bool,
) -> None:
    if not items:
        out.append(open_ + close)
        return
    if indent is None:
        newline, separator = "", ", "
    else:
        newline = "\n" + indent * (level + 1)
        separator = "," + newline
    out.append(open_ + newline)
    for i, item in enumerate(items):
        if i:
            out.append(separator)
        if pairs:
            key, item = item
            out.append(quote(_key(key)) + ": ")
        _write(item, out, quote, indent, level + 1)
    if indent is not None:
        out.append("\n" + indent * level)
    out.append(close)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, float):
        return _float(key)
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == float("-inf"):
        return "-Infinity"
    return float.__repr__(value)
