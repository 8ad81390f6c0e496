"""What every client command shares: the options (profile, endpoint, output, dry run,
waiting), registering commands with them, the progress display, and error reporting.

`command(app)` registers a function `fn(ctx, ...own options...)` as a typer command and
adds the shared options to its signature, so each command declares only its own.
`root_options(app)` adds the same options to `aiiro` itself, so that they also work
before the sub-command (`aiiro --profile local instance list`); an option given after
the sub-command wins.
Tests (and embedders) pass an `Environment` as the root context's `obj` to choose the
environment variables, config dir, HTTP transport and clock the commands see.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_type_hints

import typer

from aiiro.cli.client import exits
from aiiro.cli.client.env import Environment
from aiiro.cli.client.output import FORMATS
from aiiro.cli.client.session import Options, Session
from aiiro.client.models import RUNNING, STOPPED, to_dict

if TYPE_CHECKING:
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
                "--profile",
                "--context",
                help="Credentials profile from `aiiro configure` (not `aiiro serve --profile`, "
                "the server's timing profile) [env AIIRO_CLIENT_PROFILE].",
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
                help="Table columns, comma-separated: the table's headers (NAME,STATUS) or "
                "fields of the JSON output (instance_name,os.name), any case.",
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


class Ctx(Session):
    """A running client command under typer: a Session (cli/client/session.py), plus the
    progress display and output of the SDK's typed models."""

    def __init__(self, opts: Options, env: Environment) -> None:
        if opts.output not in FORMATS:
            raise typer.BadParameter(
                f"{opts.output!r}: choose table, json or yaml", param_hint="'--output'"
            )
        super().__init__(opts, env)
        self._progress: Progress | None = None

    def notice(self, text: str) -> None:
        if self._progress is None or not self._progress.note(text):
            super().notice(text)

    def emit(self, data: Any, kind: str = "", detail: bool = False) -> None:
        """Print models (aiiro.client.models) or plain data in the chosen output format."""
        self.show(to_dict(data), kind, detail)

    @contextmanager
    def progress(
        self, doing: str, name: str, target: str | None = None, show: bool = False
    ) -> Iterator[Progress]:
        """Progress of `doing name` ("stopping web1") towards the state `target`: shown
        with --wait (or `show`), as a spinner in a terminal and as lines elsewhere."""
        shown = self.opts.wait or show
        bar = Progress(doing, name, target, shown, self.env.stderr_is_terminal())
        self._progress = bar
        try:
            with bar:
                yield bar
        finally:
            self._progress = None


class Progress:
    """What a wait shows on stderr. In a terminal: a Rich spinner with the phase, the state
    and the time, and quota waits in its text. Elsewhere (a CI log): one line per change of
    state, and each quota wait. Step lines ("• starting web1") stay printed in both."""

    def __init__(
        self, doing: str, name: str, target: str | None, enabled: bool, terminal: bool
    ) -> None:
        self.doing, self.name, self.target = doing, name, target
        self.enabled = enabled
        self.terminal = terminal
        self.state = ""
        self._shown = ""  # the last line printed (lines mode)
        self._live: Any = None
        self._task: Any = None
        self._console: Any = None

    @property
    def title(self) -> str:
        return f"{self.doing} {self.name}".strip()

    def __enter__(self) -> Progress:
        if not self.enabled or not self.terminal:
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

    def phase(self, doing: str, target: str | None = None) -> None:
        """The wait moves on to another phase: installing → starting."""
        self.doing, self.target, self.state = doing, target, ""
        self._show(self.title)

    def shown_state(self, state: str) -> str:
        """An instance's state, and the action in progress while the API still shows the
        state before it: "Running (stopping)", as the control panel says 「起動中 (停止処理中)」."""
        settled = state.lower() in (RUNNING.lower(), STOPPED.lower())
        if self.target and settled and state.lower() != self.target.lower():
            return f"{state} ({self.doing})"
        return state

    def poll(self, inst: Instance | None, elapsed: float) -> None:
        """An instance as polled (an `on_poll` of the SDK's instance waiters)."""
        state = "gone" if inst is None else (inst.instancestatus or inst.status)
        self.show_state(self.shown_state(state))

    def show_state(self, state: str) -> None:
        self.state = state
        self._show(f"{self.title}: {state}")

    def note(self, text: str) -> bool:
        """Show a passing notice (a quota wait) in the progress display; False when there
        is no display to show it in."""
        if not self.enabled:
            return False
        if self._live is not None:
            current = f"{self.title}: {self.state}" if self.state else self.title
            self._live.update(self._task, description=f"{current} — {text}")
        else:
            typer.echo(text, err=True)
        return True

    def step(self, text: str) -> None:
        """A step of a workflow ("starting web1"): printed, and the phase from now on."""
        self.doing, self.name, self.target, self.state = text, "", None, ""
        if self._console is not None:
            self._console.print(f"• {text}")
            self._live.update(self._task, description=text)
        else:
            typer.echo(f"• {text}", err=True)
            self._shown = text

    def _show(self, text: str) -> None:
        if not self.enabled:
            return
        if self._live is not None:
            self._live.update(self._task, description=text)
        elif text != self._shown:
            typer.echo(text, err=True)
        self._shown = text


# --- errors --------------------------------------------------------------------------------


def reporting() -> contextlib.AbstractContextManager[None]:
    """Errors as `error:`/`hint:` lines with their exit code (typer.Exit), and the SDK's
    warnings as `warning:` lines (cli/client/exits.py)."""
    return exits.reporting(typer.Exit)


def _verbose() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    log = logging.getLogger("aiiro.client")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)


# --- registering commands ------------------------------------------------------------------

GLOBALS = "aiiro.client-options"  # root context's meta: shared options given before the command


def _given(click_ctx: typer.Context, name: str) -> bool:
    """Whether option `name` was given on the command line (not left at its default)."""
    source = click_ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def inherit(click_ctx: typer.Context, name: str, value: T) -> T:
    """An option's value: as given after the command, else as given before it
    (`aiiro -o json profile list`), else its default."""
    before = click_ctx.find_root().meta.get(GLOBALS, {})
    if name in before and not _given(click_ctx, name):
        return before[name]  # type: ignore[no-any-return]
    return value


def root_options(app: typer.Typer, client_commands: tuple[str, ...], version: str) -> None:
    """The shared options on `aiiro` itself, for the client commands, and `--version`."""

    def show_version(value: bool) -> None:
        if value:
            typer.echo(f"aiiro {version}")
            raise typer.Exit()

    version_option = _option(
        "version",
        Annotated[
            bool,
            typer.Option(
                "--version", help="Print aiiro's version.", is_eager=True, callback=show_version
            ),
        ],
        False,
    )
    context = inspect.Parameter(
        "click_ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
    )
    params = [context, *COMMON, version_option]

    def callback(click_ctx: typer.Context, **kwargs: Any) -> None:
        kwargs.pop("version")
        given = {k: v for k, v in kwargs.items() if _given(click_ctx, k)}
        command = click_ctx.invoked_subcommand
        if given and command not in client_commands:
            flags = ", ".join("--" + k.replace("_", "-") for k in given)
            click_ctx.fail(
                f"{flags} given before `{command}`: options before a command are the client "
                f"commands'; give `{command}` its own after it (`aiiro serve --profile "
                "faithful` is serve's timing profile)"
            )
        click_ctx.meta[GLOBALS] = given

    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__annotations__ = {p.name: p.annotation for p in params}
    app.callback()(callback)


def command(
    app: typer.Typer, name: str | None = None, *, waits: bool = False, panel: str | None = None
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
            opts = Options(**{k: inherit(click_ctx, k, kwargs.pop(k)) for k in shared_names})
            if opts.verbose:
                _verbose()
            with reporting():
                fn(Ctx(opts, environment(click_ctx)), **kwargs)

        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        wrapper.__doc__ = fn.__doc__
        wrapper.__name__ = fn.__name__
        app.command(name or fn.__name__.replace("_", "-"), rich_help_panel=panel)(wrapper)
        return fn

    return register
