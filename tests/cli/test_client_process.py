"""The installed `aiiro` command against a real `aiiro serve` process: the interface
sketch end to end over http.client, the list commands' output the same with and without
typer, and a light start-up (no server libraries; for a list command, the standard library
and aiiro.client_core alone)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.server import AiiroServer, aiiro_command
from tests.cli.client_env import CREATE_WEB1
from tests.conftest import DATABASES, empty_store

pytestmark = pytest.mark.acceptance

# The server's libraries: no client command may load them.
SERVER = {"fastapi", "sqlalchemy", "uvicorn", "pydantic_settings", "starlette", "alembic"}


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AiiroServer]:
    """One server for the module, on each database."""
    base = tmp_path_factory.mktemp("serve")
    with (
        empty_store(request.param, base) as url,
        AiiroServer(base / "data", database_url=url) as srv,
    ):
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
            *CREATE_WEB1,
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
    # Run by typer (an option the dispatcher does not take), the command prints the same.
    full = aiiro(env, "instance", "list", "-o", "json", "--verbose")
    assert full.returncode == 0 and full.stdout == listed.stdout
    table = aiiro(env, "instance", "list", "--columns", "instance_name,instancestatus")
    assert table.stdout.split() == ["INSTANCE_NAME", "INSTANCESTATUS", "web1", "Running"]
    # Tokens were cached between runs, privately.
    token_dir = tmp_path / ".cache" / "aiiro" / "tokens"
    [token_file] = token_dir.iterdir()
    assert token_file.stat().st_mode & 0o077 == 0


def loaded_modules(env: dict[str, str], *argv: str) -> set[str]:
    """Modules loaded by running `aiiro *argv` in this interpreter (none: by Python's own
    start-up alone), and their top-level packages."""
    run = (
        f"sys.argv = ['aiiro', *{list(argv)!r}]\n"
        "from aiiro.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
    )
    code = (
        "import sys\n"
        + (run if argv else "")
        + "names = {*sys.modules, *(m.split('.')[0] for m in sys.modules)}\n"
        "print('MODULES', ' '.join(sorted(names)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES"))
    return set(line.split()[1:])


# What a list command may load of aiiro's own: the client's core, and the part of the
# client commands that needs no command-line framework (docs/performance.md).
LEAN_CLI = {
    "aiiro",
    "aiiro.cli",
    "aiiro.cli.main",
    "aiiro.cli.client",
    *(f"aiiro.cli.client.{m}" for m in ("env", "exits", "fast", "lists", "output", "session")),
}


def test_start_up_stays_light(server: AiiroServer, tmp_path: Path) -> None:
    env = client_env(server, tmp_path)
    help_modules = loaded_modules(env, "--help")
    assert not help_modules & SERVER, help_modules & SERVER
    fast = loaded_modules(env, "instance", "list", "-o", "json") - loaded_modules(env)
    ours = {m for m in fast if m.startswith("aiiro")}
    assert {m for m in ours if not m.startswith("aiiro.client_core")} <= LEAN_CLI, ours
    assert "aiiro.client_core.policy" in ours
    # aiiro.client_core's rule: the standard library only (and not its heaviest parts).
    others = {m.split(".")[0] for m in fast - ours}
    assert others <= sys.stdlib_module_names, others - sys.stdlib_module_names
    assert not others & {"asyncio", "dataclasses", "inspect"}
    full = loaded_modules(env, "instance", "list", "--verbose")
    assert "typer" in full and not full & SERVER
