"""The README, run as a new user runs it: `make run` in one terminal (a fresh HOME, nothing
from the calling environment), then every later shell block in a second terminal, in
order, as written (Python blocks with the `python` of that shell). A block preceded by
`<!-- readme-test: not run (why) -->` is left out: it installs system packages or is the
test suite itself. Every relative link of the README names a file of the repository."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.acceptance.server import free_port

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
NOT_RUN = "<!-- readme-test: not run"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


@dataclass(frozen=True)
class Block:
    lang: str
    body: str
    run: bool


def blocks(text: str) -> list[Block]:
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        found.append(Block(match[1], match[2], not before.startswith(NOT_RUN)))
    return found


def test_every_relative_link_names_a_file_of_the_repository() -> None:
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README.read_text())
    assert links, "the README links its docs"
    for link in links:
        assert (REPO / link).exists(), link


def test_the_first_block_is_the_two_commands() -> None:
    first = blocks(README.read_text())[0]
    assert first.lang == "sh"
    assert [line.split("#")[0].strip() for line in first.body.splitlines()] == [
        "make run",
        "make test",
    ]


def script_of_the_later_blocks() -> str:
    """One bash script: every runnable block after the first, in order."""
    parts = ["set -euo pipefail"]
    for block in blocks(README.read_text())[1:]:
        if not block.run:
            continue
        if block.lang == "sh":
            parts.append(block.body)
        elif block.lang == "python":
            parts.append(f"python - <<'PYTHON'\n{block.body}PYTHON")
    return "\n".join(parts) + "\n"


def wait_healthy(base: str, server: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "make run ended early"
        try:
            with urllib.request.urlopen(f"{base}/_aiiro/health", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"make run not healthy after {timeout} s")


@pytest.mark.acceptance
def test_the_readme_runs_in_order_as_written(tmp_path: Path) -> None:
    for tool in ("make", "curl", "jq", "ssh-keygen"):
        if shutil.which(tool) is None:
            if os.environ.get("CI") == "true":
                pytest.fail(f"{tool} is not installed (CI installs it)")
            pytest.skip(f"{tool} is not installed")
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIIRO_", "Indigo", "XDG_", "VIRTUAL_ENV", "WEBARENA_"))
    }
    env.update(HOME=str(home), AIIRO_PORT=str(port))
    log = (tmp_path / "make-run.log").open("wb")
    server = subprocess.Popen(
        ["make", "run"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server)
        env.pop("AIIRO_PORT")  # the second terminal knows only what the README says
        done = subprocess.run(
            ["bash", "-c", script_of_the_later_blocks()],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, output + (tmp_path / "make-run.log").read_text()
        assert re.search(r"walkthrough: \d+ steps passed against http://127.0.0.1:", output)
        assert "web1" in output and "web2" in output
        assert "Traceback" not in output
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
