"""`aiiro snapshot ...`: take, list, retake, restore, delete."""

from __future__ import annotations

from typing import Annotated

import typer

from aiiro.cli.client.common import Ctx, Progress, command
from aiiro.client import instances, snapshots
from aiiro.client.boot import BootCheck, aiiro_probe, tcp_check
from aiiro.client.resource import Sync
from aiiro.client_core import server
from aiiro.client_core.errors import ConfigError
from aiiro.client_core.policy import Request

app = typer.Typer(help="Snapshots: take, list, retake, restore, delete.", no_args_is_help=True)

InstanceArg = Annotated[str, typer.Argument(help="Instance name or id.", show_default=False)]
SnapshotArg = Annotated[str, typer.Argument(help="Snapshot name or id.", show_default=False)]


def _polled(p: Progress) -> snapshots.OnSnapshotPoll:
    return lambda snap, elapsed: p.show_state(snap.status)


@command(app, "list")
def list_(ctx: Ctx, instance: InstanceArg) -> None:
    """List an instance's snapshots."""
    iid = ctx.run(instances.instance_id(ctx.engine, instance))
    found = ctx.call(snapshots.list_call(iid))
    if found is not None:
        ctx.emit(found, "snapshot")


@command(app, waits=True)
def take(
    ctx: Ctx,
    instance: InstanceArg,
    name: Annotated[str, typer.Option(help="Snapshot name.", show_default=False)],
    slot: Annotated[
        int | None,
        typer.Option(
            help=f"Slot number, 0-{snapshots.SLOTS - 1} (default: the lowest free one).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Take a snapshot (--wait: until created). Works on a running instance."""
    e = ctx.engine
    iid = ctx.run(instances.instance_id(e, instance))
    o = ctx.opts
    if o.dry_run:
        ctx.dry(ctx.run(snapshots.take_request(e, iid, name, slot)).request)
        return
    with ctx.progress("taking snapshot", f"{name} of {instance}") as p:
        snap = ctx.run(snapshots.take(e, iid, name, slot, o.wait, o.timeout, o.poll, _polled(p)))
    ctx.emit(snap, "snapshot")


@command(app, waits=True)
def retake(ctx: Ctx, instance: InstanceArg, snapshot: SnapshotArg) -> None:
    """Take a failed snapshot again (--wait: until created)."""
    e = ctx.engine
    snap = ctx.run(snapshots.find(e, instance, snapshot))
    assert snap.instance_id is not None
    out = ctx.call(snapshots.retake_call(snap.instance_id, snap.id))
    if out is None:
        return
    o = ctx.opts
    if o.wait:
        with ctx.progress("taking snapshot", snap.name) as p:
            snap = ctx.run(
                snapshots.wait_until(
                    e, snap.instance_id, snap.id, "created", o.timeout, o.poll, _polled(p)
                )
            )
    ctx.emit(snap, "snapshot")


@command(app)
def delete(ctx: Ctx, instance: InstanceArg, snapshot: SnapshotArg) -> None:
    """Delete a snapshot."""
    snap = ctx.run(snapshots.find(ctx.engine, instance, snapshot))
    out = ctx.call(snapshots.delete_call(snap.id))
    if out is None:
        return
    if ctx.opts.output == "table":
        typer.echo(f"{snap.name}: deleted")
    else:
        ctx.emit(out)


def boot_check(ctx: Ctx, spec: str) -> BootCheck | None:
    """`auto`: aiiro's probe when an admin token is configured, a TCP check on port 22
    against the real service, otherwise none; or `none`, `tcp:PORT`, `aiiro[:PORT]`."""
    kind, _, port_text = spec.strip().lower().partition(":")
    port = int(port_text) if port_text.isdigit() else 22
    token = ctx.settings.admin_token
    if kind == "auto":
        if token:
            return aiiro_probe(token, port)
        return tcp_check(port) if server.is_real_service(ctx.settings.endpoint) else None
    if kind == "none":
        return None
    if kind == "tcp":
        return tcp_check(port)
    if kind == "aiiro":
        if not token:
            raise ConfigError(
                "--boot-check aiiro needs the server's admin token",
                hint="set AIIRO_ADMIN_TOKEN or `aiiro configure --admin-token`",
            )
        return aiiro_probe(token, port)
    raise typer.BadParameter(
        f"{spec!r}: use auto, none, tcp:PORT or aiiro[:PORT]", param_hint="'--boot-check'"
    )


@command(app, waits=True)
def restore(
    ctx: Ctx,
    instance: InstanceArg,
    snapshot: Annotated[str, typer.Option(help="Snapshot name or id.", show_default=False)],
    start: Annotated[
        bool, typer.Option("--start", help="Start the instance afterwards and make sure it boots.")
    ] = False,
    check: Annotated[
        str,
        typer.Option(
            "--boot-check", help="How to tell the guest booted: auto, none, tcp:PORT, aiiro[:PORT]."
        ),
    ] = "auto",
    boot_timeout: Annotated[
        float, typer.Option(help="Seconds the guest has to answer before forcestop + start.")
    ] = snapshots.DEFAULT_BOOT_TIMEOUT,
    cures: Annotated[int, typer.Option(help="How many forcestop + start to try.")] = 1,
    force_after: Annotated[
        float, typer.Option(help="Forcestop when a graceful stop takes longer than this.")
    ] = snapshots.DEFAULT_FORCE_AFTER,
) -> None:
    """Restore a snapshot: stop, restore, and with --start start again, curing a boot that
    hangs (GRUB) with forcestop + start."""
    e = ctx.engine
    inst = ctx.run(instances.get(e, instance))
    snap = ctx.run(snapshots.find(e, inst.id, snapshot))
    if ctx.opts.dry_run:
        planned: list[Request] = []
        if not inst.stopped:
            planned.append(instances.status_call(inst.id, "stop").request)
        planned.append(snapshots.restore_call(inst.id, snap.id).request)
        if start:
            planned.append(instances.status_call(inst.id, "start").request)
        ctx.dry(*planned)
        return
    probe = boot_check(ctx, check) if start else None
    ctx.opts = o = ctx.opts._replace(wait=True)
    with ctx.progress("restoring", f"{snap.name} on {inst.instance_name}") as p:
        workflow: snapshots.Snapshots[Sync] = snapshots.Snapshots(e, ctx.run)
        result = workflow.restore(
            inst.id,
            snap.id,
            start=start,
            boot_check=probe,
            boot_timeout=boot_timeout,
            cures=cures,
            timeout=o.timeout,
            poll=o.poll,
            force_after=force_after,
            on_poll=p.poll,
            on_step=p.step,
        )
        if start and probe is None and check.strip().lower() == "auto":
            # Say so: with nothing to check by, "Running" is all there is to go on.
            p.step(
                f"not checking that {inst.instance_name} answers: an aiiro server needs its "
                "admin token for that (`aiiro configure --admin-token`, or AIIRO_ADMIN_TOKEN)"
            )
    ctx.emit(result, "instance")
