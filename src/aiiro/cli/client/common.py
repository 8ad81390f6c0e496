"""What every client command shares: the options (profile, endpoint, output, dry run,
waiting), the environment it runs in, the SDK client, error reporting and exit codes.

`command(app)` registers a function `fn(ctx, ...own options...)` as a typer command and
adds the shared options to its signature, so each command declares only its own.
Tests (and embedders) pass an `Environment` as the root context's `obj` to choose the
environment variables, config dir, HTTP transport and clock the commands see.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_type_hints

import typer

from aiiro.cli.client.env import Environment, make_client
from aiiro.cli.client.exits import INTERRUPTED, describe_error, exit_code
from aiiro.cli.client.output import FORMATS, render
from aiiro.client import errors
from aiiro.client.config import Settings, resolve
from aiiro.client.core import Request
from aiiro.client.models import to_dict
from aiiro.client.ops import Call, Op

if TYPE_CHECKING:
    from aiiro.client.indigo import Indigo
    from aiiro.client.models import Instance

T = TypeVar("T")


def environment(click_ctx: typer.Context) -> Environment:
    """The Environment passed as the root context's `obj`, or the real one."""
    obj = click_ctx.find_root().obj
    return obj if isinstance(obj, Environment) else Environment()


def _option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


PANEL = "Connection and output"
COMMON = [
    _option(
        "profile",
        Annotated[
            str | None,
            typer.Option(
                help="Named profile from `aiiro configure` [env AIIRO_CLIENT_PROFILE].",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    _option(
        "endpoint",
        Annotated[
            str | None,
            typer.Option(
                help="API base URL [env AIIRO_ENDPOINT; default https://api.customer.jp].",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    _option(
        "api_key",
        Annotated[
            str | None,
            typer.Option(help="API key [env IndigoApiKey, AIIRO_API_KEY].", rich_help_panel=PANEL),
        ],
        None,
    ),
    _option(
        "api_secret",
        Annotated[
            str | None,
            typer.Option(
                help="API secret [env IndigoApiPrivateKey, AIIRO_API_SECRET].",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    _option(
        "output",
        Annotated[
            str,
            typer.Option(
                "--output",
                "-o",
                help="table, json or yaml.",
                rich_help_panel=PANEL,
                autocompletion=lambda: list(FORMATS),
            ),
        ],
        "table",
    ),
    _option(
        "columns",
        Annotated[
            str | None,
            typer.Option(
                help="Table columns, comma-separated field names (e.g. id,instance_name,os.name).",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    _option(
        "no_header",
        Annotated[
            bool,
            typer.Option(
                "--no-header", help="Tables without the header line.", rich_help_panel=PANEL
            ),
        ],
        False,
    ),
    _option(
        "dry_run",
        Annotated[
            bool,
            typer.Option(
                "--dry-run",
                help="Print the HTTP request(s) instead of sending them (lookups by "
                "name are still made).",
                rich_help_panel=PANEL,
            ),
        ],
        False,
    ),
    _option(
        "verbose",
        Annotated[
            bool,
            typer.Option(
                "--verbose",
                "-v",
                help="Log requests, retries and quota waits to stderr.",
                rich_help_panel=PANEL,
            ),
        ],
        False,
    ),
]
WAIT_PANEL = "Waiting"
WAITING = [
    _option(
        "wait",
        Annotated[
            bool,
            typer.Option(
                "--wait/--no-wait",
                help="Wait until the action has finished, with a progress display.",
                rich_help_panel=WAIT_PANEL,
            ),
        ],
        False,
    ),
    _option(
        "timeout",
        Annotated[
            float,
            typer.Option(
                help="Seconds to wait before giving up (exit code 8).", rich_help_panel=WAIT_PANEL
            ),
        ],
        600.0,
    ),
    _option(
        "poll",
        Annotated[
            float,
            typer.Option(
                help="Seconds between status checks (the quota is respected anyway).",
                rich_help_panel=WAIT_PANEL,
            ),
        ],
        2.0,
    ),
]


@dataclass
class Options:
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


class Ctx:
    """A running client command: its options, environment and SDK client."""

    def __init__(self, opts: Options, env: Environment) -> None:
        if opts.output not in FORMATS:
            raise typer.BadParameter(
                f"{opts.output!r}: choose table, json or yaml", param_hint="'--output'"
            )
        self.opts = opts
        self.env = env
        self._settings: Settings | None = None
        self._indigo: Indigo | None = None

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
    def indigo(self) -> Indigo:
        if self._indigo is None:
            self._indigo = make_client(self.settings, self.env)
        return self._indigo

    # -- running -------------------------------------------------------------------------

    def run(self, op: Op[T]) -> T:
        return self.indigo.run(op)

    def call(self, call: Call[T]) -> T | None:
        """Send `call`, or print it under --dry-run (then None)."""
        if self.dry(call.request):
            return None
        return self.indigo.call(call)

    def dry(self, *requests: Request) -> bool:
        if not self.opts.dry_run:
            return False
        engine = self.indigo.engine
        typer.echo("\n\n".join(engine.describe(r) for r in requests))
        return True

    # -- output -----------------------------------------------------------------------------

    def emit(self, data: Any, kind: str = "", detail: bool = False) -> None:
        o = self.opts
        text = render(to_dict(data), o.output, kind, o.columns, not o.no_header, detail)
        if text:
            typer.echo(text)

    def say(self, text: str) -> None:
        """A message for people: on stdout for tables, on stderr when output is data."""
        typer.echo(text, err=self.opts.output != "table")

    @contextmanager
    def progress(self, title: str) -> Iterator[Progress]:
        bar = Progress(title, self.opts.wait)
        with bar:
            yield bar


class Progress:
    """A Rich spinner on stderr while waiting; step lines stay printed."""

    def __init__(self, title: str, enabled: bool) -> None:
        self.title = title
        self.enabled = enabled
        self._live: Any = None
        self._task: Any = None
        self._console: Any = None

    def __enter__(self) -> Progress:
        if not self.enabled:
            return self
        from rich.console import Console
        from rich.progress import Progress as Bar
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        self._console = Console(stderr=True)
        self._live = Bar(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
        )
        self._live.__enter__()
        self._task = self._live.add_task(self.title, total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def poll(self, inst: Instance | None, elapsed: float) -> None:
        if self._live is None:
            return
        state = "gone" if inst is None else (inst.instancestatus or inst.status)
        self._live.update(self._task, description=f"{self.title}: {state}")

    def step(self, text: str) -> None:
        if self._console is not None:
            self._console.print(f"• {text}")
            self._live.update(self._task, description=text)
        else:
            typer.echo(f"• {text}", err=True)


# --- errors --------------------------------------------------------------------------------


def fail(err: errors.IndigoError) -> typer.Exit:
    """Print the error (code, message, hint) and give the exit code's Exit."""
    typer.echo(describe_error(err), err=True)
    return typer.Exit(exit_code(err))


@contextmanager
def reporting() -> Iterator[None]:
    try:
        yield
    except errors.IndigoError as err:
        raise fail(err) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(INTERRUPTED) from None


def _verbose() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    log = logging.getLogger("aiiro.client")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)


# --- registering commands ------------------------------------------------------------------


def command(
    app: typer.Typer, name: str | None = None, *, waits: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register `fn(ctx, ...)` as command `name` with the shared options added."""
    shared = COMMON + (WAITING if waits else [])
    shared_names = [p.name for p in shared]

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        hints = get_type_hints(fn, include_extras=True)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in inspect.signature(fn).parameters.values()
            if p.name != "ctx"
        ]
        # typer passes its context to a parameter annotated typer.Context.
        context = inspect.Parameter(
            "click_ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
        )
        params = [context, *own, *shared]

        def wrapper(click_ctx: typer.Context, **kwargs: Any) -> None:
            opts = Options(**{k: kwargs.pop(k) for k in shared_names})
            if opts.verbose:
                _verbose()
            with reporting():
                ctx = Ctx(opts, environment(click_ctx))
                fn(ctx, **kwargs)

        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        wrapper.__doc__ = fn.__doc__
        wrapper.__name__ = fn.__name__
        app.command(name or fn.__name__.replace("_", "-"))(wrapper)
        return fn

    return register
