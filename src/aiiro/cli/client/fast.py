"""The fast path for list commands: `aiiro instance list -o json` and its siblings.

Scripts run these in loops, and Python would spend most of such a run importing typer,
click, httpx, and the SDK's typed models. For `<instance|sshkey|firewall|apikey> list`
with only the options below, main() comes here first: the same settings resolution, token
cache, request policy (aiiro.client.core's Engine), shapes (aiiro.client.shapes: the
models are built from them, and print as them) and renderer as the full command, over the
plain-socket transport for http:// endpoints (httpx otherwise), without the command-line
framework. Anything else — --help, another option, another command — returns None and
the full typer application runs.

What this loads is kept to the standard library's json and socket plus a few small
modules of aiiro's own: no typing, dataclasses, datetime or hashlib (see
docs/performance.md; tests/cli/test_client_process.py checks it).
"""

from __future__ import annotations

import sys

from aiiro.cli.client.output import FORMATS, render
from aiiro.client.shapes import LISTS

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing: CLI start-up)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from aiiro.cli.client.env import Environment
    from aiiro.client.places import Places

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
    if len(rest) < 2 or rest[1] != "list" or rest[0] not in LISTS:
        return None
    kind, rest = rest[0], rest[2:]
    while rest:
        if not _option(rest, opts):
            return None
    if opts["output"] not in FORMATS:
        return None  # the full CLI reports the usage error
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
    from aiiro.client.config import cache_dir, resolve
    from aiiro.client.core import Engine, Request, decode, run_sync
    from aiiro.client.errors import IndigoError
    from aiiro.client.tokens import DiskTokens
    from aiiro.client.transport import for_endpoint

    places: Places | None
    environ: Mapping[str, str]
    sleep: Callable[[float], None]
    if env is None:
        # The process's own, read directly: an Environment and a Places are dataclasses,
        # and importing `dataclasses` would cost more than the rest of this run's imports.
        import os
        import time

        places, environ, clock, sleep, given = None, os.environ, time.time, time.sleep, None
    else:
        places, environ, clock, sleep = env.where(), env.environ, env.clock, env.sleep
        given = env.transport
    listing = LISTS[kind]
    try:
        settings = resolve(
            api_key=opts.get("api_key"),
            api_secret=opts.get("api_secret"),
            endpoint=opts.get("endpoint"),
            profile=opts.get("profile"),
            places=places,
        )
        if kind == "firewall" and settings.admin_token:
            return None  # the full command adds the assignments an aiiro server knows
        cache = places.cache_dir if places is not None else cache_dir(environ)
        engine = Engine(settings, tokens=DiskTokens.in_cache(cache), clock=clock)
        engine.on_quota_wait = _say  # as the full command says it (no progress display here)
        send = given or for_endpoint(settings.endpoint, environ)
        request = Request("GET", listing.path)
        reply = run_sync(engine.send(request), send, sleep)
        rows = [listing.shape(x) for x in listing.elements(decode(request, reply))]
        text = render(rows, opts["output"], kind, opts.get("columns"), not opts.get("no_header"))
    except IndigoError as err:
        from aiiro.cli.client.exits import describe_error, exit_code

        sys.stderr.write(describe_error(err) + "\n")
        return exit_code(err)
    except KeyboardInterrupt:
        from aiiro.cli.client.exits import INTERRUPTED

        sys.stderr.write("interrupted\n")
        return INTERRUPTED
    if text:
        sys.stdout.write(text + "\n")
    return 0


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
