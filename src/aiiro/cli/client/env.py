"""The environment a client command runs in: variables, directories, HTTP transport, clock.

Tests pass their own. Stdlib and aiiro.client_core only: the list commands' dispatcher
(cli/client/fast.py) makes one on every run.
"""

# (No `from __future__ import annotations`: NamedTuple would make each of its string
# annotations a ForwardRef, compiling it, which costs every CLI run milliseconds.)

import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import NamedTuple

from aiiro.client_core.config import Places
from aiiro.client_core.policy import SyncSend
from aiiro.client_core.transport import for_cli


class Environment(NamedTuple):
    """Everything a command reads from outside: variables, directories, how HTTP travels,
    the clock. The default is the real process environment; tests pass their own."""

    environ: Mapping[str, str] = os.environ
    places: Places | None = None  # None: from `environ`
    transport: SyncSend | None = None  # None: http.client, or httpx behind a proxy
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    interactive: bool | None = None  # None: whether stdin is a terminal
    terminal: bool | None = None  # None: whether stderr is a terminal (progress display)
    exec_ssh: Callable[[list[str]], int] | None = None  # None: replace the process with ssh

    def where(self) -> Places:
        return self.places or Places.from_environ(self.environ)

    def send(self) -> SyncSend:
        """The environment's own transport, else the CLI's."""
        return self.transport or for_cli(self.environ)

    def is_interactive(self) -> bool:
        return sys.stdin.isatty() if self.interactive is None else self.interactive

    def stderr_is_terminal(self) -> bool:
        return sys.stderr.isatty() if self.terminal is None else self.terminal
