"""Fixtures for tests that drive a real `aiiro serve` process (see server.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.server import AiiroServer


@pytest.fixture
def aiiro_server(tmp_path: Path, database_url: str) -> Iterator[AiiroServer]:
    """A not yet started server on a fresh data dir and store; killed at the end of the
    test."""
    for tool in ("curl",):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    with AiiroServer(tmp_path / "data", database_url=database_url) as server:
        yield server
