"""The project's own curl + jq walkthrough (scripts/walkthrough.sh) against a real
`aiiro serve`, with the credentials file the server names sourced as the README says."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.acceptance.server import AiiroServer

REPO = Path(__file__).resolve().parents[2]
WALKTHROUGH = REPO / "scripts" / "walkthrough.sh"

pytestmark = pytest.mark.acceptance


@pytest.mark.parametrize("profile", ["fast", "instant"])
def test_the_walkthrough_passes_against_a_fresh_server(
    aiiro_server: AiiroServer, profile: str
) -> None:
    for tool in ("bash", "jq", "ssh-keygen"):
        assert shutil.which(tool), f"{tool} is needed by scripts/walkthrough.sh"
    out = aiiro_server.start("--profile", profile)
    secret_file = aiiro_server.data_dir / "webarena_secret"
    assert f"credentials: source {secret_file}" in out
    run = subprocess.run(
        ["bash", "-c", f'source "{secret_file}" && exec "{WALKTHROUGH}"'],
        # Nothing from the calling environment points anywhere: the file must.
        env={k: v for k, v in os.environ.items() if not k.startswith(("AIIRO_", "Indigo"))},
        capture_output=True,
        text=True,
        timeout=300,
    )
    last = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout + run.stderr + aiiro_server.output()
    assert last == f"walkthrough: 29 steps passed against {aiiro_server.base_url}"
