"""The installed `aiiro` command against a real `aiiro serve` process: the interface
sketch end to end over the plain-socket transport, the fast path's output equal to the
full command's, and a light start-up (no server libraries, and no typer or httpx for a
fast-path list)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.server import AiiroServer, aiiro_command

pytestmark = pytest.mark.acceptance

# The server's libraries: no client command may load them. (typer itself loads pydantic
# to convert option values, so only the fast path is also free of pydantic.)
SERVER = {"fastapi", "sqlalchemy", "uvicorn", "pydantic_settings", "starlette", "alembic"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AiiroServer]:
    base = tmp_path_factory.mktemp("serve")
    with AiiroServer(base / "data") as srv:
        srv.start("--profile", "instant", "--write-secret", base / "secret")
        yield srv


def client_env(server: AiiroServer, home: Path) -> dict[str, str]:
    key, secret = server.credentials()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIIRO_", "Indigo"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        AIIRO_ENDPOINT=server.base_url,
        IndigoApiKey=key,
        IndigoApiPrivateKey=secret,
    )
    return env


def aiiro(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*aiiro_command(), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_sketch_against_a_real_server(server: AiiroServer, tmp_path: Path) -> None:
    env = client_env(server, tmp_path)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(tmp_path / "id_rsa")],
        check=True,
    )
    steps = [
        ["sshkey", "create", "--name", "mykey", "--file", str(tmp_path / "id_rsa.pub")],
        [
            "instance",
            "create",
            "--name",
            "web1",
            "--os",
            "Debian12",
            "--plan",
            "1CR768MB",
            "--region",
            "Tokyo",
            "--ssh-key",
            "mykey",
            "--wait",
            "--poll",
            "0.2",
        ],
        ["instance", "start", "web1", "--wait", "--poll", "0.2"],
        ["snapshot", "take", "web1", "--name", "before-upgrade", "--wait", "--poll", "0.2"],
        [
            "snapshot",
            "restore",
            "web1",
            "--snapshot",
            "before-upgrade",
            "--start",
            "--wait",
            "--poll",
            "0.2",
        ],
    ]
    for step in steps:
        done = aiiro(env, *step)
        assert done.returncode == 0, (step, done.stdout, done.stderr)
    listed = aiiro(env, "instance", "list", "-o", "json")
    [inst] = json.loads(listed.stdout)
    assert (inst["instance_name"], inst["instancestatus"]) == ("web1", "Running")
    # The full command (an option the fast path does not take) prints the same.
    full = aiiro(env, "instance", "list", "-o", "json", "--verbose")
    assert full.returncode == 0 and full.stdout == listed.stdout
    table = aiiro(env, "instance", "list", "--columns", "instance_name,instancestatus")
    assert table.stdout.split() == ["INSTANCE_NAME", "INSTANCESTATUS", "web1", "Running"]
    # Tokens were cached between runs, privately.
    token_dir = tmp_path / ".cache" / "aiiro" / "tokens"
    [token_file] = token_dir.iterdir()
    assert token_file.stat().st_mode & 0o077 == 0


def loaded_modules(env: dict[str, str], *argv: str) -> set[str]:
    """Modules loaded by running `aiiro *argv` in this interpreter, and their top-level
    packages."""
    code = (
        "import sys\n"
        f"sys.argv = ['aiiro', *{list(argv)!r}]\n"
        "from aiiro.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "names = {*sys.modules, *(m.split('.')[0] for m in sys.modules)}\n"
        "print('MODULES', ' '.join(sorted(names)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES"))
    return set(line.split()[1:])


def test_start_up_stays_light(server: AiiroServer, tmp_path: Path) -> None:
    env = client_env(server, tmp_path)
    help_modules = loaded_modules(env, "--help")
    assert not help_modules & SERVER, help_modules & SERVER
    fast = loaded_modules(env, "instance", "list", "-o", "json")
    assert not fast & {*SERVER, "typer", "click", "httpx", "pydantic", "rich", "yaml"}
    # Nor what costs a fast-path run most after Python's own start-up (docs/performance.md):
    # the models and what they and the SDK's typed parts load.
    heavy = {"aiiro.client.models", "aiiro.client.ops", "dataclasses", "inspect", "typing"}
    heavy |= {"datetime", "hashlib", "socket", "contextlib", "logging", "ipaddress", "json", "re"}
    assert not fast & heavy, fast & heavy
    full = loaded_modules(env, "instance", "list", "--verbose")
    assert "typer" in full and not full & SERVER
