"""Rendering plain data (`models.to_dict`, or `shapes`) as a table, JSON or YAML (`-o`),
with `--columns` and `--no-header`.

Stdlib only, apart from PyYAML loaded for `-o yaml`, and no typing at run time: this runs
on every CLI start.
"""

from __future__ import annotations

from aiiro.client import jsontext

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing: CLI start-up)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

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
        ("STATUS", "status"),
        ("SIZE", "size"),
        ("COMPLETED", "completed_at"),
    ],
}


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
        return jsontext.dumps(value, ensure_ascii=False)
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
    if not wanted:
        return COLUMNS.get(kind, [])
    return [(p.strip().upper(), p.strip()) for p in wanted.split(",") if p.strip()]


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
        return jsontext.dumps(plain, indent=2, ensure_ascii=False)
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
