"""docs/emulator.md lists the race scenarios as they are declared (emulator/scenarios.py):
every one, in order, with what it sets up, the race and what a robust client does."""

from __future__ import annotations

import re
from pathlib import Path

from aiiro.emulator.scenarios import SCENARIOS

DOC = (Path(__file__).parents[2] / "docs" / "emulator.md").read_text(encoding="utf-8")


def test_the_scenario_table_is_the_declaration() -> None:
    rows = re.findall(r"^\| `([a-z-]+)` \| (.+) \| (.+) \| (.+) \|$", DOC, re.M)
    declared = [(s.name, s.sets_up, s.race, s.robust) for s in SCENARIOS]
    assert [r for r in rows if r[0] in {s.name for s in SCENARIOS}] == declared
