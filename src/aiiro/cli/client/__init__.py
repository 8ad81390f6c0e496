"""The client half of `aiiro`: commands that speak the Indigo API to any endpoint."""

from __future__ import annotations

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing: CLI start-up)
if TYPE_CHECKING:
    import typer

# Top-level names of the client commands (the fast path and main() dispatch on them).
COMMANDS = (
    "configure",
    "profile",
    "token",
    "apikey",
    "sshkey",
    "catalog",
    "instance",
    "firewall",
    "snapshot",
)


def register(app: typer.Typer) -> None:
    from aiiro.cli.client import catalog, configure, firewall, instance, keys, snapshot
    from aiiro.cli.client.common import command

    panel = "Client (Indigo API)"
    app.command("configure", rich_help_panel=panel)(configure.configure)
    app.add_typer(configure.profile_app, name="profile", rich_help_panel=panel)
    command(app, "token")(keys.token)
    app.add_typer(keys.apikey_app, name="apikey", rich_help_panel=panel)
    app.add_typer(keys.sshkey_app, name="sshkey", rich_help_panel=panel)
    app.add_typer(catalog.app, name="catalog", rich_help_panel=panel)
    app.add_typer(instance.app, name="instance", rich_help_panel=panel)
    app.add_typer(firewall.app, name="firewall", rich_help_panel=panel)
    app.add_typer(snapshot.app, name="snapshot", rich_help_panel=panel)
