"""`aiiro scenario list|run`: the named race scenarios of an aiiro server (its admin
token needed), for rehearsing a client's handling of the races Indigo users meet. The
list, and what each takes, come from the server (`GET /_aiiro/scenarios`)."""

from __future__ import annotations

from typing import Annotated

import typer

from aiiro.cli.client.common import Ctx, command
from aiiro.client_core import server

app = typer.Typer(
    help="Race scenarios of an aiiro server (needs its admin token): list, run.",
    no_args_is_help=True,
)


@command(app, "list")
def scenario_list(ctx: Ctx) -> None:
    """The named race scenarios: what each sets up, the race, what a robust client does."""
    ctx.show(ctx.run(server.scenarios(ctx.engine)), "scenario")


@command(app, "run")
def scenario_run(
    ctx: Ctx,
    name: Annotated[str, typer.Argument(help="Scenario name (see `aiiro scenario list`).")],
    instance: Annotated[
        int | None, typer.Option("--instance", help="Instance id (scenarios about one).")
    ] = None,
    account: Annotated[
        int | None, typer.Option("--account", help="Only this account (default: every one).")
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", help="How many times a fault strikes (default 1).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="daily-cap: creations per 24 h (default 0).")
    ] = None,
) -> None:
    """Set up a race scenario on the server."""
    given = {"instance_id": instance, "account_id": account, "count": count, "limit": limit}
    params = {k: v for k, v in given.items() if v is not None}
    ctx.show(ctx.run(server.scenario(ctx.engine, name, params)))
