"""Entry point of `aiiro`. Sub-commands import what they need when they run, so that
`aiiro --help` and the client commands start quickly; `main()` first offers argv to the
client's fast path (list commands), which answers without loading typer."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing: CLI start-up)
if TYPE_CHECKING:
    from typing import Any

    import typer


def build() -> typer.Typer:
    import typer

    from aiiro import __version__
    from aiiro.cli import shell
    from aiiro.cli.client import COMMANDS
    from aiiro.cli.client import register as register_client
    from aiiro.cli.client.common import root_options
    from aiiro.cli.server import admin_app, serve
    from aiiro.host.cli import host_app
    from aiiro.images.cli import images_app

    app = typer.Typer(
        name="aiiro",
        help="aiiro: the WebARENA Indigo API, self-hosted — server, admin and client.\n\n"
        "Start a server with `aiiro serve`; operate it with `aiiro admin`; talk to any "
        "Indigo endpoint with the client commands (`aiiro configure` first). The client "
        "options below also work after the command.",
        no_args_is_help=True,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    root_options(app, COMMANDS, __version__)
    app.command("serve")(serve)
    app.add_typer(admin_app, name="admin")
    app.add_typer(images_app, name="images")
    app.add_typer(host_app, name="host")
    register_client(app)

    app.command("version")(shell.version)
    app.command("completion")(shell.completion)
    return app


def __getattr__(name: str) -> Any:
    # `from aiiro.cli.main import app` (tests, docs tools) builds the application on demand.
    if name == "app":
        app = build()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    argv = sys.argv[1:]
    if argv in (["--version"], ["version"]):
        from aiiro import __version__

        sys.stdout.write(f"aiiro {__version__}\n")
        sys.exit(0)
    from aiiro.cli.client.fast import run_fast

    code = run_fast(argv)
    if code is not None:
        sys.exit(code)
    build()()
