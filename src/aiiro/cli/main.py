"""Entry point of `aiiro`. Sub-commands import what they need when they run, so that
`aiiro --help` and the client commands start quickly."""

from __future__ import annotations

import typer

from aiiro.cli.server import admin_app, serve

app = typer.Typer(
    name="aiiro",
    help="aiiro: the WebARENA Indigo API, self-hosted — server, admin and client.\n\n"
    "Start a server with `aiiro serve`; operate it with `aiiro admin`.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("serve")(serve)
app.add_typer(admin_app, name="admin")


def main() -> None:
    app()
