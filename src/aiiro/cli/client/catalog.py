"""`aiiro catalog ...`: instance types, regions, OS images, plans."""

from __future__ import annotations

from typing import Annotated

import typer

from aiiro.cli.client.common import Ctx, command
from aiiro.client import catalog
from aiiro.client.lookup import as_id

app = typer.Typer(
    help="The catalogue: instance types, regions, OS images, plans.", no_args_is_help=True
)

TypeOpt = Annotated[int, typer.Option("--type", help="Instance type id (1: KVM instance).")]


@command(app)
def types(ctx: Ctx) -> None:
    """Instance types."""
    found = ctx.call(catalog.types_call())
    if found is not None:
        ctx.emit(found, "type")


@command(app)
def regions(ctx: Ctx, instance_type: TypeOpt = catalog.KVM) -> None:
    """Regions."""
    found = ctx.call(catalog.regions_call(instance_type))
    if found is not None:
        ctx.emit(found, "region")


@command(app)
def os(ctx: Ctx, instance_type: TypeOpt = catalog.KVM) -> None:
    """OS images (names to use with `instance create --os`)."""
    if ctx.dry(catalog.os_call(instance_type).request):
        return
    ctx.emit(ctx.run(catalog.images(ctx.engine, instance_type)), "os")


@command(app)
def plans(
    ctx: Ctx,
    os_: Annotated[str | None, typer.Option("--os", help="Only plans offered for this OS.")] = None,
    instance_type: TypeOpt = catalog.KVM,
) -> None:
    """Plans (the PLAN column is what `instance create --plan` takes)."""
    e = ctx.engine
    os_id = None
    if os_ is not None:
        os_id = as_id(os_)
        if os_id is None:
            os_id = ctx.run(catalog.find_os(e, os_, instance_type)).id
    found = ctx.call(catalog.plans_call(instance_type, os_id))
    if found is not None:
        ctx.emit(found, "plan")
