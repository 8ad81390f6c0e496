"""The environment a client command runs in, its exit codes and error text.

Stdlib only: the fast path (cli/client/fast.py) uses this without loading typer.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiiro.client import errors
from aiiro.client.config import Places, Settings
from aiiro.client.core import SyncSend

if TYPE_CHECKING:
    from aiiro.client.indigo import Indigo

# --- exit codes (docs/client.md lists them) ------------------------------------------------
OK = 0
FAILED = 1  # an API error not listed below, or another failure
USAGE = 2  # bad options or arguments (click's own code)
CONFIG = 3  # no credentials, unknown profile, unreadable file
AUTH = 4  # 401
NOT_FOUND = 5  # 404, or no (or more than one) resource by that name
STATE = 6  # refused in this state: I10016, I10017, I10055, S10002, F60009
QUOTA = 7  # 429 and the quota did not free up within the allowed wait
TIMEOUT = 8  # a wait gave up
UNREACHABLE = 9  # network error or 5xx
BOOT = 10  # the instance never answered after start (snapshot restore)
INTERRUPTED = 130

_CODES: list[tuple[type[errors.IndigoError], int]] = [
    (errors.ConfigError, CONFIG),
    (errors.AuthError, AUTH),
    (errors.NotFoundError, NOT_FOUND),
    (errors.LookupFailed, NOT_FOUND),
    (errors.StateError, STATE),
    (errors.QuotaError, QUOTA),
    (errors.WaitTimeout, TIMEOUT),
    (errors.NetworkError, UNREACHABLE),
    (errors.ServerError, UNREACHABLE),
    (errors.BootFailed, BOOT),
]


def exit_code(err: errors.IndigoError) -> int:
    return next((code for cls, code in _CODES if isinstance(err, cls)), FAILED)


def describe_error(err: errors.IndigoError) -> str:
    """`error: CODE message (HTTP status, METHOD path)` and a `hint:` line."""
    if isinstance(err, errors.APIError):
        where = f"HTTP {err.status}" + (f", {err.method} {err.path}" if err.method else "")
        lines = [f"error: {err} ({where})"]
    else:
        lines = [f"error: {err.message}"]
    if err.hint:
        lines.append(f"hint: {err.hint}")
    return "\n".join(lines)


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
    exec_ssh: Callable[[list[str]], int] | None = None  # None: replace the process with ssh

    def where(self) -> Places:
        return self.places or Places.from_environ(self.environ)

    def is_interactive(self) -> bool:
        return sys.stdin.isatty() if self.interactive is None else self.interactive


def transport_for(settings: Settings, env: Environment) -> SyncSend:
    """The environment's own transport, else plain sockets for http:// endpoints (a fast
    start), else httpx (https://, proxies)."""
    from aiiro.client.transport import WireSend, wire_suits

    if env.transport is not None:
        return env.transport
    if wire_suits(settings.endpoint, env.environ):
        return WireSend()
    import httpx

    from aiiro.client.transport import HttpxSend

    return HttpxSend(httpx.Client(timeout=30.0))


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
