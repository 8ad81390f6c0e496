"""Two answers to the same call, compared by shape, and the report of a run.

Values are compared by shape — JSON type, keys, key order — not by content, which differs
between any two accounts; except where the content is fixed by the call and its outcome:
the status code, the codes and messages (`FIXED_KEYS`), and the headers whose values are
the service's own (`VALUE_HEADERS`). An array is compared by its first element on each
side (a list's elements share one shape); an empty array on one side leaves its elements
unchecked, which the report notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiiro.client_core.policy import Reply

# Keys whose values are the same for a call and its outcome on any account.
FIXED_KEYS = frozenset(
    {
        "success",
        "sucessCode",  # sic
        "errorCode",
        "errorMessage",
        "message",
        "STATUS",
        "instanceStatus",
        "tokenType",
        "expiresIn",
    }
)
# Response headers compared by value: the service's own, the same on every answer.
VALUE_HEADERS = (
    "content-type",
    "x-quota-allowed",
    "cache-control",
    "vary",
    "severity",
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
)
# Response headers compared by presence and by whether they hold a number.
PRESENCE_HEADERS = (
    "x-quota-available",
    "x-quota-reset",
    "retry-after",
    "x-request-id",
    "www-authenticate",
    "location",
)
RESPONSE_HEADERS = VALUE_HEADERS + PRESENCE_HEADERS
# Request headers a recording keeps (authorization by its scheme only).
REQUEST_HEADERS = ("content-type", "accept", "authorization")
NOT_JSON = "<not JSON>"


@dataclass
class Answer:
    """What one side answered: status, the headers that matter (lower-case), the body as
    decoded JSON (None when empty; a note string when it is not JSON)."""

    status: int
    headers: dict[str, str]
    body: Any

    @classmethod
    def from_reply(cls, reply: Reply) -> Answer:
        headers = {k: v for k, v in reply.headers.items() if k in RESPONSE_HEADERS}
        return cls(reply.status, headers, decoded(reply.content))

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "headers": self.headers, "shape": shape(self.body)}


def decoded(content: bytes) -> Any:
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except ValueError:
        return f"{NOT_JSON} {len(content)} bytes"


@dataclass
class Difference:
    """One difference: where (`status`, `header NAME`, or a JSON path), what kind
    (status, header, type, missing, extra, order, value), and each side's view."""

    where: str
    kind: str
    left: str
    right: str

    def to_json(self) -> dict[str, str]:
        return {"where": self.where, "kind": self.kind, "left": self.left, "right": self.right}


def kind(value: Any) -> str:
    """The JSON type of a value: null, boolean, integer, number, string, array, object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "text" if value.startswith(NOT_JSON) else "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape(value: Any) -> Any:
    """A value's shape, for reports: types for leaves, keys in order, an array's first
    element."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return kind(value)


def _brief(value: Any) -> str:
    k = kind(value)
    if k == "object":
        return f"object{{{', '.join(value)}}}"
    if k == "array":
        return f"array[{len(value)}]"
    return k


def compare_answers(left: Answer, right: Answer) -> tuple[list[Difference], list[str]]:
    """The differences between two answers to one call, and notes on what was left
    unchecked."""
    diffs: list[Difference] = []
    notes: list[str] = []
    if left.status != right.status:
        diffs.append(Difference("status", "status", str(left.status), str(right.status)))
    diffs += compare_headers(left.headers, right.headers)
    compare_json(left.body, right.body, "$", diffs, notes)
    return diffs, notes


def compare_headers(left: dict[str, str], right: dict[str, str]) -> list[Difference]:
    diffs = []
    for name in RESPONSE_HEADERS:
        a, b = left.get(name), right.get(name)
        where = f"header {name}"
        if a is None and b is None:
            continue
        if a is None or b is None:
            diffs.append(Difference(where, "header", a or "—", b or "—"))
        elif _header_differs(name, a.strip(), b.strip()):
            diffs.append(Difference(where, "header", a, b))
    return diffs


def _header_differs(name: str, a: str, b: str) -> bool:
    """By value for the service's own headers; else whether each holds a number."""
    if name in VALUE_HEADERS:
        return a != b
    return a.isdigit() != b.isdigit()


def compare_json(
    left: Any, right: Any, path: str, diffs: list[Difference], notes: list[str]
) -> None:
    ka, kb = kind(left), kind(right)
    if ka != kb:
        diffs.append(Difference(path, "type", ka, kb))
        return
    if ka == "object":
        _compare_objects(left, right, path, diffs, notes)
    elif ka == "array":
        if left and right:
            compare_json(left[0], right[0], f"{path}[0]", diffs, notes)
        elif left or right:
            empty = "left" if not left else "right"
            notes.append(f"{path}: empty on the {empty}, elements not compared")


def _compare_objects(
    left: dict[str, Any],
    right: dict[str, Any],
    path: str,
    diffs: list[Difference],
    notes: list[str],
) -> None:
    for k, v in left.items():
        if k not in right:
            diffs.append(Difference(f"{path}.{k}", "missing", _brief(v), "—"))
    for k, v in right.items():
        if k not in left:
            diffs.append(Difference(f"{path}.{k}", "extra", "—", _brief(v)))
    order_a = [k for k in left if k in right]
    order_b = [k for k in right if k in left]
    if order_a != order_b:
        diffs.append(Difference(path, "order", ", ".join(order_a), ", ".join(order_b)))
    for k in order_a:
        a, b = left[k], right[k]
        where = f"{path}.{k}"
        if k in FIXED_KEYS and kind(a) == kind(b) and kind(a) not in ("array", "object"):
            if a != b:
                diffs.append(Difference(where, "value", json.dumps(a), json.dumps(b)))
            continue
        compare_json(a, b, where, diffs, notes)


# --- the report ----------------------------------------------------------------------------


@dataclass
class Compared:
    """One call asked of both sides (or of one, when the other had nothing to ask about)."""

    name: str  # "GET /webarenaIndigo/v1/vm/sshkey", or a scenario's step
    left: Answer | None
    right: Answer | None
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, name: str, left: Answer | None, right: Answer | None, note: str = "") -> Compared:
        item = cls(name, left, right)
        if left is not None and right is not None:
            item.differences, item.notes = compare_answers(left, right)
        if note:
            item.notes.append(note)
        return item

    def to_json(self) -> dict[str, Any]:
        return {
            "call": self.name,
            "left": None if self.left is None else self.left.to_json(),
            "right": None if self.right is None else self.right.to_json(),
            "differences": [d.to_json() for d in self.differences],
            "notes": self.notes,
        }


@dataclass
class Report:
    """A run of `aiiro parity` or `aiiro replay`: both sides and every call compared."""

    left: str
    right: str
    items: list[Compared] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return sum(len(i.differences) for i in self.items)

    def to_json(self) -> dict[str, Any]:
        return {
            "left": self.left,
            "right": self.right,
            "differences": self.differences,
            "calls": [i.to_json() for i in self.items],
        }

    def text(self) -> str:
        """Side by side: each call with both statuses, then each difference with both
        sides' view, then a summary line."""
        rows: list[tuple[str, str, str, str]] = [("", "", "LEFT", "RIGHT")]
        for item in self.items:
            status_l = "—" if item.left is None else str(item.left.status)
            status_r = "—" if item.right is None else str(item.right.status)
            verdict = (
                f"{len(item.differences)} difference(s)"
                if item.differences
                else ("same shape" if item.left and item.right else "not compared")
            )
            rows.append((item.name, verdict, status_l, status_r))
            rows += [(f"  {d.where}", d.kind, d.left, d.right) for d in item.differences]
            rows += [(f"  note: {n}", "", "", "") for n in item.notes]
        widths = [min(max(len(r[i]) for r in rows), 60) for i in range(3)]
        lines = [f"left:  {self.left}", f"right: {self.right}", ""]
        for r in rows:
            lines.append(
                f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip()
            )
        differing = sum(1 for i in self.items if i.differences)
        compared = sum(1 for i in self.items if i.left is not None and i.right is not None)
        lines.append("")
        lines.append(
            f"{compared} of {len(self.items)} calls compared, {self.differences} "
            f"difference(s) in {differing} call(s)."
        )
        return "\n".join(lines)
