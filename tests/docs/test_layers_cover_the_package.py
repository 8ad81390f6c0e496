"""The layers contract (pyproject.toml, checked by lint-imports in `make test`) names every
module and package of src/aiiro: a new one that no layer names would be checked by nothing."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Not part of the server's layers: the pytest plugin talks to a server over HTTP only,
# and data/ holds files, not code.
APART = {"testing", "data", "__init__"}


def test_every_module_of_aiiro_is_in_a_layer() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    named = {name.strip() for layer in layers for name in layer.split("|")}
    package = ROOT / "src" / "aiiro"
    present = {
        p.stem if p.suffix == ".py" else p.name
        for p in package.iterdir()
        if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))
    }
    assert present - APART - named == set()
    assert named - present == set()  # and no layer names something gone
