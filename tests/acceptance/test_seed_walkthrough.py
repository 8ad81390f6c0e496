"""The user's seed walkthrough (curl + jq), unchanged, against a real `aiiro serve`
(profile fast, credentials from --write-secret): every step passes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.acceptance.server import AiiroServer

REPO = Path(__file__).resolve().parents[2]
SEED = REPO.parent / "shared" / "acceptance" / "seed-walkthrough.sh"

pytestmark = pytest.mark.acceptance


@pytest.mark.skipif(not SEED.exists(), reason=f"the seed walkthrough is not at {SEED}")
def test_seed_walkthrough_passes_unchanged(aiiro_server: AiiroServer, tmp_path: Path) -> None:
    for tool in ("bash", "jq", "ssh-keygen"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    aiiro_server.start("--profile", "fast", "--write-secret", tmp_path / "webarena_secret")
    run = subprocess.run(
        ["bash", str(SEED)],
        env=aiiro_server.client_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(run.stdout)
    last = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert last.startswith("seed walkthrough: ") and last.endswith(" 0 failed"), (
        run.stdout + run.stderr + aiiro_server.output()
    )
    assert run.returncode == 0
    assert "FAIL" not in run.stdout
