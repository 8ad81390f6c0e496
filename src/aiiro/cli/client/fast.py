"""The fast path for list commands: `aiiro instance list -o json` and its siblings.

Scripts run these in loops, and Python would spend most of such a run importing typer,
click and httpx. For `<instance|sshkey|firewall|apikey> list` with only the options below,
main() comes here first: the same settings resolution, token cache, request policy, models
and renderer as the full command, over the plain-socket transport for http:// endpoints
(httpx otherwise), without the command-line framework. Anything else — --help, another
option, another command — returns None and the full typer application runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from aiiro.cli.client.env import Environment, describe_error, exit_code
from aiiro.cli.client.output import FORMATS, render
from aiiro.client.errors import IndigoError

VALUE_OPTIONS = {
    "-o": "output",
    "--output": "output",
    "--columns": "columns",
    "--profile": "profile",
    "--endpoint": "endpoint",
    "--api-key": "api_key",
    "--api-secret": "api_secret",
}
FLAG_OPTIONS = {"--no-header": "no_header"}


def _call(group: str) -> Any:
    from aiiro.client import apikeys, firewalls, instances, sshkeys

    calls: dict[str, Callable[[], Any]] = {
        "instance": instances.list_call,
        "sshkey": sshkeys.list_call,
        "firewall": firewalls.list_call,
        "apikey": apikeys.list_call,
    }
    return calls[group]()


def parse(argv: Sequence[str]) -> tuple[str, dict[str, Any]] | None:
    """(group, options) when argv is a list command this path serves, else None."""
    if (
        len(argv) < 2
        or argv[1] != "list"
        or argv[0] not in ("instance", "sshkey", "firewall", "apikey")
    ):
        return None
    opts: dict[str, Any] = {"output": "table"}
    rest = list(argv[2:])
    while rest:
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
            return None
    if opts["output"] not in FORMATS:
        return None  # the full CLI reports the usage error
    return argv[0], opts


def run_fast(argv: Sequence[str], env: Environment | None = None) -> int | None:
    """Run a list command and return its exit code, or None when this path does not serve
    `argv`."""
    parsed = parse(argv)
    if parsed is None:
        return None
    group, opts = parsed
    env = env or Environment()
    from aiiro.cli.client.env import transport_for
    from aiiro.client.config import resolve
    from aiiro.client.core import Engine, run_sync
    from aiiro.client.tokens import DiskTokens

    try:
        places = env.where()
        settings = resolve(
            api_key=opts.get("api_key"),
            api_secret=opts.get("api_secret"),
            endpoint=opts.get("endpoint"),
            profile=opts.get("profile"),
            places=places,
        )
        engine = Engine(settings, tokens=DiskTokens.in_cache(places.cache_dir), clock=env.clock)
        send = transport_for(settings, env)
        data = run_sync(engine.run(_call(group)), send, env.sleep)
    except IndigoError as err:
        sys.stderr.write(describe_error(err) + "\n")
        return exit_code(err)
    text = render(data, opts["output"], group, opts.get("columns"), not opts.get("no_header"))
    if text:
        sys.stdout.write(text + "\n")
    return 0
