"""The list commands' dispatcher: `aiiro instance list -o json` and its siblings, without
the command-line framework.

Scripts run these in loops, and Python would spend most of such a run importing typer,
click, rich and pydantic. For `<instance|sshkey|firewall|apikey> list` with only the
options below, main() comes here first, and runs the very command the typer application
runs (cli/client/lists.py) with the same session, settings, engine and output
(cli/client/session.py). Anything else — --help, another option, another command —
returns None and the typer application runs.

What this loads is the standard library and aiiro.client_core (see docs/performance.md;
tests/cli/test_client_process.py checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiiro.cli.client.env import Environment
from aiiro.cli.client.exits import reporting
from aiiro.cli.client.lists import COMMANDS
from aiiro.cli.client.output import FORMATS
from aiiro.cli.client.session import Options, Session

VALUE_OPTIONS = {
    "-o": "output",
    "--output": "output",
    "--columns": "columns",
    "--profile": "profile",
    "--context": "profile",
    "--endpoint": "endpoint",
    "--api-key": "api_key",
    "--api-secret": "api_secret",
}
FLAG_OPTIONS = {"--no-header": "no_header"}


def parse(argv: Sequence[str]) -> tuple[str, dict[str, Any]] | None:
    """(kind, options) when argv is a list command this path serves, else None. The
    options may also come before the command (`aiiro -o json instance list`)."""
    opts: dict[str, Any] = {"output": "table"}
    rest = list(argv)
    while rest and rest[0].startswith("-"):
        if not _option(rest, opts):
            return None
    if len(rest) < 2 or rest[1] != "list" or rest[0] not in COMMANDS:
        return None
    kind, rest = rest[0], rest[2:]
    while rest:
        if not _option(rest, opts):
            return None
    if opts["output"] not in FORMATS:
        return None  # the typer application reports the usage error
    return kind, opts


def _option(rest: list[str], opts: dict[str, Any]) -> bool:
    """Take the option at the front of `rest` into `opts`; False if this path does not
    know it."""
    arg = rest.pop(0)
    name, eq, value = arg.partition("=")
    if arg in FLAG_OPTIONS:
        opts[FLAG_OPTIONS[arg]] = True
    elif name in VALUE_OPTIONS and eq and name.startswith("--"):
        opts[VALUE_OPTIONS[name]] = value
    elif arg in VALUE_OPTIONS and rest:
        opts[VALUE_OPTIONS[arg]] = rest.pop(0)
    elif arg.startswith("-o") and len(arg) > 2:
        opts["output"] = arg[2:]
    else:
        return False
    return True


def run_fast(argv: Sequence[str], env: Environment | None = None) -> int | None:
    """Run a list command and return its exit code, or None when this path does not serve
    `argv`."""
    parsed = parse(argv)
    if parsed is None:
        return None
    kind, opts = parsed
    session = Session(Options(**opts), env or Environment())
    try:
        with reporting(SystemExit):
            COMMANDS[kind](session)
    except SystemExit as done:
        return int(done.code or 0)
    return 0
