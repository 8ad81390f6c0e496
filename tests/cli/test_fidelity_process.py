"""`aiiro record`, `aiiro replay` and `aiiro parity` as installed commands, against a real
`aiiro serve` process: a client's session through the recording proxy (uvicorn), the file
it leaves, and that file replayed."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.server import AiiroServer, aiiro_command, free_port
from tests.cli.test_client_process import aiiro, client_env

pytestmark = pytest.mark.acceptance


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AiiroServer]:
    base = tmp_path_factory.mktemp("serve")
    with AiiroServer(base / "data") as srv:
        srv.start("--profile", "instant", "--write-secret", base / "secret")
        yield srv


def _listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def test_record_a_session_then_replay_it(server: AiiroServer, tmp_path: Path) -> None:
    env = client_env(server, tmp_path)
    key, secret = server.credentials()
    port = free_port()
    out = tmp_path / "bug-report.jsonl"
    recorder = subprocess.Popen(
        [*aiiro_command(), "record", "--target", server.base_url,
         "--listen", f"127.0.0.1:{port}", "--out", str(out)],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _listening(port)
        through = {**env, "AIIRO_ENDPOINT": f"http://127.0.0.1:{port}"}
        listed = aiiro(through, "catalog", "os", "-o", "json")
        assert listed.returncode == 0, listed.stderr
        assert aiiro(through, "sshkey", "list").returncode == 0
    finally:
        recorder.send_signal(signal.SIGINT)
        _, stderr = recorder.communicate(timeout=30)
    assert recorder.returncode == 0, stderr
    assert stderr.splitlines()[0] == (
        f"recording to {out}: point your client at http://127.0.0.1:{port} "
        f"(forwarding to {server.base_url}); Ctrl-C ends"
    )
    assert stderr.splitlines()[-1] == f"3 exchange(s) recorded in {out}"
    data = out.read_text()
    cached = next((Path(env["XDG_CACHE_HOME"]) / "aiiro" / "tokens").glob("*.json"))
    token = json.loads(cached.read_text())["access_token"]
    assert key not in data and secret not in data and token not in data
    assert [json.loads(line).get("path") for line in data.splitlines()] == [
        None,  # the header line
        "/oauth/v1/accesstokens",
        "/webarenaIndigo/v1/vm/oslist",
        "/webarenaIndigo/v1/vm/sshkey",
    ]
    assert oct(out.stat().st_mode & 0o777) == "0o600"

    against = {**env, "AIIRO_AGAINST_API_KEY": key, "AIIRO_AGAINST_API_SECRET": secret}
    replayed = aiiro(against, "replay", str(out), "--against", server.base_url)
    assert replayed.returncode == 0, (replayed.stdout, replayed.stderr)
    assert replayed.stdout.splitlines()[-1] == (
        "3 of 3 calls compared, 0 difference(s) in 0 call(s)."
    )


def test_parity_of_a_server_with_itself(server: AiiroServer, tmp_path: Path) -> None:
    key, secret = server.credentials()
    env = {
        **client_env(server, tmp_path),
        "AIIRO_AGAINST_API_KEY": key,
        "AIIRO_AGAINST_API_SECRET": secret,
    }
    done = aiiro(env, "parity", "--against", server.base_url, "-o", "json")
    assert done.returncode == 0, (done.stdout, done.stderr)
    report = json.loads(done.stdout)
    assert report["differences"] == 0
    assert report["left"] == report["right"] == server.base_url
    assert len(report["calls"]) == 11
