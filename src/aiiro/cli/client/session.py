"""A client command as it runs: its shared options, the environment, the settings, the
engine that sends its requests, and its output.

This is the part of a command's context that needs no command-line framework, so that a
command can be written once and run both by typer (cli/client/common.py's `Ctx` adds the
progress display and the typed models' output) and by the list commands' dispatcher
(cli/client/fast.py). Stdlib and aiiro.client_core only, as cli/client/fast.py loads it.
"""

# (No `from __future__ import annotations`: NamedTuple would make each of its string
# annotations a ForwardRef, compiling it, which costs every CLI run milliseconds.)

import sys
from typing import Any, NamedTuple, TypeVar

from aiiro.cli.client.env import Environment
from aiiro.cli.client.output import render
from aiiro.client_core.config import Settings, resolve
from aiiro.client_core.policy import Call, Engine, Op, Request, SyncSend, run_sync
from aiiro.client_core.tokens import DiskTokens

T = TypeVar("T")


class Options(NamedTuple):
    """The options every client command takes (cli/client/common.py declares them)."""

    profile: str | None = None
    endpoint: str | None = None
    api_key: str | None = None
    api_secret: str | None = None
    output: str = "table"
    columns: str | None = None
    no_header: bool = False
    dry_run: bool = False
    verbose: bool = False
    wait: bool = False
    timeout: float = 600.0
    poll: float = 2.0


def echo(text: str, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout, flush=True)


class Session:
    """A running client command: its options and environment, the settings and engine
    (made when first needed), and its output."""

    def __init__(self, opts: Options, env: Environment) -> None:
        self.opts = opts
        self.env = env
        self._settings: Settings | None = None
        self._engine: Engine | None = None
        self._send: SyncSend | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            o = self.opts
            self._settings = resolve(
                api_key=o.api_key,
                api_secret=o.api_secret,
                endpoint=o.endpoint,
                profile=o.profile,
                places=self.env.where(),
            )
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            tokens = DiskTokens.in_cache(self.env.where().cache_dir)
            self._engine = Engine(self.settings, tokens=tokens, clock=self.env.clock)
            self._engine.on_quota_wait = self.notice
        return self._engine

    # -- running -------------------------------------------------------------------------

    def run(self, op: Op[T]) -> T:
        """Carry out an op (aiiro.client_core.policy) with the environment's transport."""
        if self._send is None:
            self._send = self.env.send()
        return run_sync(op, self._send, self.env.sleep)

    def call(self, call: Call[T]) -> T | None:
        """Send `call`, or print it under --dry-run (then None)."""
        if self.dry(call.request):
            return None
        return self.run(self.engine.run(call))

    def dry(self, *requests: Request) -> bool:
        """Under --dry-run, print the requests (and True); else False."""
        if not self.opts.dry_run:
            return False
        echo("\n\n".join(self.engine.describe(r) for r in requests))
        return True

    # -- output --------------------------------------------------------------------------

    def show(self, plain: Any, kind: str = "", detail: bool = False) -> None:
        """Print plain data (JSON-able) in the chosen output format."""
        o = self.opts
        text = render(plain, o.output, kind, o.columns, not o.no_header, detail)
        if text:
            echo(text)

    def say(self, text: str) -> None:
        """A message for people: on stdout for tables, on stderr when output is data."""
        echo(text, err=self.opts.output != "table")

    def notice(self, text: str) -> None:
        """A passing notice (a quota wait: a wait of a minute looks like a hang)."""
        echo(text, err=True)
