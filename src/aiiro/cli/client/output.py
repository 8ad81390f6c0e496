"""Rendering plain data (`models.to_dict`, or `shapes`) as a table, JSON or YAML (`-o`),
with `--columns` and `--no-header`.

Stdlib and aiiro.client_core only, apart from PyYAML loaded for `-o yaml`: the list
commands' dispatcher (cli/client/fast.py) loads this.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiiro.client_core import shapes
from aiiro.client_core.errors import IndigoError

FORMATS = ("table", "json", "yaml")

# Default table columns per kind of result: (header, dotted field path).
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "instance": [
        ("ID", "id"),
        ("NAME", "instance_name"),
        ("STATUS", "instancestatus"),
        ("IP", "ip"),
        ("PLAN", "plan"),
        ("OS", "os.name"),
        ("REGION", "region"),
    ],
    "sshkey": [("ID", "id"), ("NAME", "name"), ("STATUS", "status"), ("CREATED", "created_at")],
    "apikey": [("ID", "id"), ("API KEY", "api_key"), ("CREATED", "created_at")],
    "type": [("ID", "id"), ("NAME", "name"), ("DISPLAY NAME", "display_name")],
    "region": [("ID", "id"), ("NAME", "name")],
    "os": [("ID", "id"), ("NAME", "name"), ("VIEW NAME", "viewname"), ("CODE", "code")],
    "plan": [
        ("ID", "id"),
        ("PLAN", "resource"),
        ("CODE", "code"),
        ("NAME", "name"),
        ("IP", "ipaddress_type"),
    ],
    "firewall": [("ID", "id"), ("NAME", "name"), ("CREATED", "created_at")],
    # With an aiiro server's admin token the client knows the assignments too.
    "assigned-firewall": [
        ("ID", "id"),
        ("NAME", "name"),
        ("INSTANCES", "instances"),
        ("CREATED", "created_at"),
    ],
    "profile": [("NAME", "name"), ("ENDPOINT", "endpoint"), ("DEFAULT", "default")],
    "scenario": [("NAME", "name"), ("RACE", "race")],
    "account": [
        ("ID", "id"),
        ("NAME", "name"),
        ("EMAIL", "email"),
        ("STATUS", "status"),
        ("CREATED", "created_at"),
    ],
    "rule": [
        ("DIRECTION", "direction"),
        ("TYPE", "type"),
        ("PROTOCOL", "protocol"),
        ("PORT", "port"),
        ("SOURCE", "source"),
    ],
    "snapshot": [
        ("ID", "id"),
        ("NAME", "name"),
        ("SLOT", "slot_number"),
        ("STATUS", "status"),
        ("SIZE", "size"),
        ("COMPLETED", "completed_at"),
    ],
}


class ColumnError(IndigoError):
    """`--columns` names a column that is neither a header nor a field (exit code 2)."""


def _fields(kind: str) -> list[str] | None:
    """The fields of the JSON output of a kind (its shape's keys), None when unknown."""
    shape = {
        "instance": shapes.instance,
        "sshkey": shapes.sshkey,
        "apikey": shapes.apikey,
        "type": shapes.instance_type,
        "region": shapes.region,
        "os": shapes.os_image,
        "plan": shapes.plan,
        "firewall": shapes.firewall,
        "snapshot": shapes.snapshot,
    }.get(kind)
    if shape is not None:
        return list(shape({}))
    if kind == "assigned-firewall":
        return [*shapes.firewall({}), "instances"]
    return [path for _, path in COLUMNS[kind]] if kind in COLUMNS else None


def _fold(text: str) -> str:
    return text.lower().replace(" ", "").replace("_", "")


def field(row: Any, path: str) -> Any:
    value = row
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def table(rows: Sequence[Any], columns: Sequence[tuple[str, str]], header: bool = True) -> str:
    grid = [[h for h, _ in columns]] if header else []
    grid += [[cell(field(r, path)) for _, path in columns] for r in rows]
    if not grid:
        return ""
    widths = [max(len(line[i]) for line in grid) for i in range(len(columns))]
    out = []
    for line in grid:
        out.append("   ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
    return "\n".join(out)


def pick_columns(kind: str, wanted: str | None) -> list[tuple[str, str]]:
    """The (header, field path) of each column of `--columns`: a header of the kind's
    table (NAME, STATUS ...) or a field of its JSON output (instance_name, os.name ...),
    in any case; a header wins where both name something (an instance's STATUS is its
    instancestatus). An unknown column is a ColumnError listing the known ones."""
    headers = COLUMNS.get(kind, [])
    if not wanted:
        return headers
    fields = _fields(kind)
    picked = []
    for token in (t.strip() for t in wanted.split(",")):
        if not token:
            continue
        header = next((c for c in headers if _fold(c[0]) == _fold(token)), None)
        if header is not None:
            picked.append(header)
            continue
        first, dot, rest = token.partition(".")
        known = (
            first
            if fields is None
            else next((f for f in fields if f.lower() == first.lower()), None)
        )
        if known is None:
            names = ", ".join(h for h, _ in headers)
            raise ColumnError(
                f"--columns: no column {token!r} in {kind} output",
                hint=f"use the table's headers ({names}) or the fields of `-o json` "
                f"({', '.join(fields or [])}), in any case",
            )
        path = known + dot + rest
        picked.append((path.upper(), path))
    return picked


def render(
    plain: Any,
    fmt: str = "table",
    kind: str = "",
    columns: str | None = None,
    header: bool = True,
    detail: bool = False,
) -> str:
    """`plain` is JSON-able data: an object, a list of them, or a value. In a table, one
    object of a known kind is a one-row table of its usual columns, unless `detail` asks
    for every field (FIELD/VALUE lines)."""
    if isinstance(plain, dict) and fmt == "table" and kind in COLUMNS and not detail:
        plain = [plain]
    if fmt == "json":
        return json.dumps(plain, indent=2, ensure_ascii=False)
    if fmt == "yaml":
        import yaml

        return str(yaml.safe_dump(plain, sort_keys=False, allow_unicode=True)).rstrip("\n")
    if isinstance(plain, list):
        cols = pick_columns(kind, columns)
        if not cols and plain and isinstance(plain[0], dict):
            cols = [(k.upper(), k) for k in plain[0]]
        return table(plain, cols, header)
    if isinstance(plain, dict):
        keys = [p for _, p in pick_columns(kind, columns)] if columns else list(plain)
        rows = [{"field": k, "value": field(plain, k)} for k in keys]
        return table(rows, [("FIELD", "field"), ("VALUE", "value")], header)
    return cell(plain)
