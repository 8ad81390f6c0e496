"""docs/compatibility.md stays true: every test it names exists, every Indigo endpoint
and every quirk of the facts' checklist has a row, and every aiiro code in
domain/errors.py is listed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from aiiro.domain import errors
from tests.openapi.test_document import FACTS_ENDPOINTS

REPO = Path(__file__).resolve().parents[2]
TABLE = (REPO / "docs" / "compatibility.md").read_text(encoding="utf-8")
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def test_every_named_test_exists() -> None:
    named = REFERENCE.findall(TABLE)
    assert len(named) > 60
    missing = []
    for path, name in set(named):
        source = REPO / path
        tree = ast.parse(source.read_text(encoding="utf-8")) if source.exists() else None
        functions = {
            node.name
            for node in ast.walk(tree) if tree is not None
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }  # fmt: skip
        if name not in functions:
            missing.append(f"{path}::{name}")
    assert not missing, missing


def test_every_endpoint_has_a_row() -> None:
    def short(path: str) -> str:
        path = path.split("?")[0].removeprefix("/webarenaIndigo/v1")
        return re.sub(r"\{\w+\}", "{id}", path)

    rows = re.findall(r"^\| (GET|POST|PUT|DELETE) \| `([^`]+)` \|", TABLE, re.MULTILINE)
    assert sorted((m.lower(), short(p)) for m, p in rows) == sorted(
        (m, short(p)) for m, p in FACTS_ENDPOINTS
    )


def test_every_quirk_of_the_checklist_has_a_row() -> None:
    numbers = re.findall(r"^\| (\d+) \| ", TABLE, re.MULTILINE)
    assert [int(n) for n in numbers] == list(range(1, 15))


def test_every_aiiro_code_is_listed() -> None:
    codes = {
        value
        for name, value in vars(errors).items()
        if name.isupper() and isinstance(value, str) and re.fullmatch(r"A\d{4}", value)
    }
    listed = set(re.findall(r"^\| (A\d{4}) \|", TABLE, re.MULTILINE))
    assert codes <= listed, sorted(codes - listed)
