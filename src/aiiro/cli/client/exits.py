"""The client commands' exit codes and error text (docs/client.md lists the codes).

Stdlib and aiiro.client_core only: the list commands' dispatcher (cli/client/fast.py)
reports with these.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiiro.cli.client.output import ColumnError
from aiiro.client_core import errors

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
DIFFERENT = 11  # `aiiro parity`/`aiiro replay`: the two sides' answers differ
INTERRUPTED = 130

_CODES: list[tuple[type[errors.IndigoError], int]] = [
    (ColumnError, USAGE),
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


@contextmanager
def reporting(exit: Callable[[int], BaseException]) -> Iterator[None]:
    """Errors as `error:`/`hint:` lines on stderr, raising `exit(code)` (typer.Exit, or
    SystemExit); the SDK's warnings (a name taken twice) as `warning:` lines."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", errors.IndigoWarning)
        warnings.showwarning = _warning(warnings.showwarning)
        try:
            yield
        except errors.IndigoError as err:
            print(describe_error(err), file=sys.stderr, flush=True)
            raise exit(exit_code(err)) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr, flush=True)
            raise exit(INTERRUPTED) from None


def _warning(others: Callable[..., None]) -> Callable[..., None]:
    def show(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
        if issubclass(category, errors.IndigoWarning):
            print(f"warning: {message}", file=sys.stderr, flush=True)
        else:
            others(message, category, *args, **kw)

    return show
