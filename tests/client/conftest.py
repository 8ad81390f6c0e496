from __future__ import annotations

from pathlib import Path

import pytest

from aiiro.client_core.config import Places
from tests.client.fake import FakeIndigo


@pytest.fixture
def places(tmp_path: Path) -> Places:
    """An empty environment: no variables, empty config/cache dirs and home."""
    home = tmp_path / "home"
    home.mkdir()
    return Places(
        environ={},
        config_dir=str(tmp_path / "config"),
        cache_dir=str(tmp_path / "cache"),
        home=str(home),
    )


@pytest.fixture
def fake() -> FakeIndigo:
    return FakeIndigo()
