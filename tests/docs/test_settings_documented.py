"""Every setting is documented: its variable appears in docs/configuration.md, or, for the
libvirt driver's, in docs/operating-a-host.md (datasette's docs-coverage test, for aiiro)."""

from __future__ import annotations

from pathlib import Path

from aiiro.config import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_setting_has_its_variable_in_the_docs() -> None:
    configuration = (DOCS / "configuration.md").read_text(encoding="utf-8")
    host = (DOCS / "operating-a-host.md").read_text(encoding="utf-8")
    undocumented = []
    for name in Settings.model_fields:
        variable = f"`AIIRO_{name.upper()}`"
        where = host if name.startswith("libvirt_") else configuration
        if variable not in where:
            undocumented.append(variable)
    assert undocumented == []
    assert len(Settings.model_fields) >= 25  # (a guard against reading nothing)
