"""The environment a client command runs in: variables, directories, HTTP transport, clock.

Tests pass their own; the fast path (cli/client/fast.py) uses one when given, and
otherwise the process's own without making one (this module loads dataclasses).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiiro.client.config import Settings
from aiiro.client.core import SyncSend
from aiiro.client.places import Places

if TYPE_CHECKING:
    from aiiro.client.indigo import Indigo


@dataclass
class Environment:
    """Everything a command reads from outside: variables, directories, how HTTP travels,
    the clock. The default is the real process environment; tests pass their own."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    places: Places | None = None
    transport: SyncSend | None = None  # None: a socket for http://, httpx otherwise
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    interactive: bool | None = None  # None: whether stdin is a terminal
    terminal: bool | None = None  # None: whether stderr is a terminal (progress display)
    exec_ssh: Callable[[list[str]], int] | None = None  # None: replace the process with ssh

    def where(self) -> Places:
        return self.places or Places.from_environ(self.environ)

    def is_interactive(self) -> bool:
        return sys.stdin.isatty() if self.interactive is None else self.interactive

    def stderr_is_terminal(self) -> bool:
        return sys.stderr.isatty() if self.terminal is None else self.terminal


def transport_for(settings: Settings, env: Environment) -> SyncSend:
    """The environment's own transport, else the CLI's default for the endpoint."""
    from aiiro.client.transport import for_endpoint

    return env.transport or for_endpoint(settings.endpoint, env.environ)


def make_client(settings: Settings, env: Environment) -> Indigo:
    """The SDK client a command uses."""
    from aiiro.client.indigo import Indigo

    return Indigo(
        settings=settings,
        places=env.where(),
        transport=transport_for(settings, env),
        sleep=env.sleep,
        clock=env.clock,
    )
