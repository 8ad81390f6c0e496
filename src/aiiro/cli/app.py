"""The `aiiro` typer application: server, admin, images, host and client commands.

`aiiro.cli.main.main()` runs it, after offering the command line to the list commands'
dispatcher (cli/client/fast.py), which answers without loading typer.
"""

from __future__ import annotations

import typer

from aiiro import __version__
from aiiro.cli import shell
from aiiro.cli.client import (
    catalog,
    configure,
    fidelity,
    firewall,
    instance,
    keys,
    scenario,
    snapshot,
)
from aiiro.cli.client.common import command, root_options
from aiiro.cli.server import admin_app, serve, worker
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
# Top-level names of the client commands: the options before a command are theirs.
CLIENT_COMMANDS = (
    "configure",
    "profile",
    "token",
    "apikey",
    "sshkey",
    "catalog",
    "instance",
    "firewall",
    "snapshot",
    "scenario",
    "parity",
    "replay",
)
root_options(app, CLIENT_COMMANDS, __version__)
app.command("serve")(serve)
app.command("worker")(worker)
app.add_typer(admin_app, name="admin")
app.add_typer(images_app, name="images")
app.add_typer(host_app, name="host")

PANEL = "Client (Indigo API)"
app.command("configure", rich_help_panel=PANEL)(configure.configure)
app.add_typer(configure.profile_app, name="profile", rich_help_panel=PANEL)
command(app, "token")(keys.token)
app.add_typer(keys.apikey_app, name="apikey", rich_help_panel=PANEL)
app.add_typer(keys.sshkey_app, name="sshkey", rich_help_panel=PANEL)
app.add_typer(catalog.app, name="catalog", rich_help_panel=PANEL)
app.add_typer(instance.app, name="instance", rich_help_panel=PANEL)
app.add_typer(firewall.app, name="firewall", rich_help_panel=PANEL)
app.add_typer(snapshot.app, name="snapshot", rich_help_panel=PANEL)
app.add_typer(scenario.app, name="scenario", rich_help_panel="Emulator (aiiro servers)")

FIDELITY = "Checking aiiro against Indigo"
command(app, "parity", panel=FIDELITY)(fidelity.parity)
command(app, "replay", panel=FIDELITY)(fidelity.replay)
app.command("record", rich_help_panel=FIDELITY)(fidelity.record)

app.command("version")(shell.version)
app.command("completion")(shell.completion)
