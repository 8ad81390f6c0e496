"""`aiiro instance ...`"""

from __future__ import annotations

import os
import shlex
from typing import Annotated

import typer

from aiiro.cli.client import lists
from aiiro.cli.client.common import Ctx, command
from aiiro.client import firewalls, instances
from aiiro.client.models import RUNNING, STOPPED, Instance, Outcome, to_dict
from aiiro.client_core import server
from aiiro.client_core.errors import (
    ALREADY_RUNNING,
    ALREADY_STOPPED,
    ConfigError,
    IndigoError,
    LookupFailed,
    StateError,
)

app = typer.Typer(
    help="Instances: list, show, create, start, stop, destroy, wait, ssh.", no_args_is_help=True
)

InstanceArg = Annotated[str, typer.Argument(help="Instance name or id.", show_default=False)]

# Login user per OS family (the OS's `code`); Indigo does not document them. These follow
# the distributions' cloud images; `--user` or a profile's `ssh_user` overrides.
SSH_USERS = {
    "ubuntu": "ubuntu",
    "debian": "debian",
    "centos": "centos",
    "rocky": "rocky",
    "alma": "almalinux",
    "oracle": "cloud-user",
    "kusanagi": "kusanagi",
}

# What each action is called while it goes on, and the state it leads to (None: gone).
DOING = {
    "start": "starting",
    "stop": "stopping",
    "forcestop": "stopping",
    "reset": "resetting",
    "destroy": "destroying",
}
LEADS_TO = {"start": "Running", "stop": "Stopped", "forcestop": "Stopped", "reset": "Running"}
# With --wait, the refusals that mean the instance is already where the action leads.
ALREADY = {
    "start": (ALREADY_RUNNING, "already running"),
    "stop": (ALREADY_STOPPED, "already stopped"),
    "forcestop": (ALREADY_STOPPED, "already stopped"),
}


command(app, "list")(lists.instances)


@command(app)
def show(ctx: Ctx, instance: InstanceArg) -> None:
    """Show one instance (every field, and its firewall template where that is known)."""
    e = ctx.engine
    inst = ctx.run(instances.get(e, instance))
    data = to_dict(inst)
    held = ctx.run(server.assignments(e))
    if ctx.opts.output != "table":
        if held is not None:
            data["firewall_id"] = held.get(inst.id)
    elif held is None:
        data["firewall"] = (
            "unknown: the Indigo API does not say (an aiiro server does, to its admin token)"
        )
    elif inst.id in held:
        template = ctx.run(firewalls.find(e, held[inst.id]))
        data["firewall"] = f"{template.name} (id {template.id})"
    else:
        data["firewall"] = "none"
    ctx.emit(data, "instance", detail=True)


@command(app, waits=True)
def create(
    ctx: Ctx,
    name: Annotated[str, typer.Option(help="Instance name.", show_default=False)],
    plan: Annotated[
        str, typer.Option(help="Plan: 1CR768MB, 1vCPU768MB20GB or an id.", show_default=False)
    ],
    os_: Annotated[
        str | None, typer.Option("--os", help='OS image: Debian12, "Ubuntu 24.04" or an id.')
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="Region name or id (default: the only one, Tokyo).")
    ] = None,
    ssh_key: Annotated[str | None, typer.Option(help="SSH key name or id (Linux).")] = None,
    win_password: Annotated[
        str | None, typer.Option(help="Administrator password (Windows images).")
    ] = None,
    import_url: Annotated[
        str | None,
        typer.Option(help="Import a disk image from this URL instead of installing an OS."),
    ] = None,
    snapshot: Annotated[int | None, typer.Option(help="Create from this snapshot id.")] = None,
    start: Annotated[
        bool,
        typer.Option(
            "--start", help="Start it once the OS is installed (with --wait: until Running)."
        ),
    ] = False,
) -> None:
    """Create an instance. It installs its OS, then stays Stopped until started."""
    e = ctx.engine
    body = ctx.run(
        instances.create_body(
            e,
            name,
            os=os_,
            plan=plan,
            region=region,
            ssh_key=ssh_key,
            win_password=win_password,
            import_url=import_url,
            snapshot=snapshot,
        )
    )
    inst = ctx.call(instances.create_call(body))
    if inst is None:
        return
    o = ctx.opts
    if not (o.wait or start):
        if o.output != "table":
            ctx.emit(inst)
        else:
            typer.echo(
                f"{name}: created (id {inst.id}); it installs its OS, then stays Stopped. "
                "Use --wait to wait for that (with --start: until Running)."
            )
        return
    # --start waits for the installation even without --wait: only then can it start.
    with ctx.progress("installing", name, STOPPED, show=True) as p:
        inst = ctx.run(instances.wait_until(e, inst.id, STOPPED, o.timeout, o.poll, p.poll))
        if start:
            p.phase("starting", RUNNING if o.wait else None)
            inst = ctx.run(instances.ensure_running(e, inst.id, o.wait, o.timeout, o.poll, p.poll))
    if start and not o.wait and o.output == "table":
        typer.echo(f"{name}: installed; start requested. Use --wait to wait until Running.")
        return
    ctx.emit(inst, "instance")


def _act(
    ctx: Ctx,
    ref: str,
    cmd: str,
    force_after: float | None = None,
    name: str | None = None,
) -> None:
    """Send `cmd` to the instance `ref` (called `name` in messages), and with --wait wait
    until the state it leads to."""
    e = ctx.engine
    o = ctx.opts
    name = name or ref
    iid = ctx.run(instances.instance_id(e, ref))
    try:
        outcome = ctx.call(instances.status_call(iid, cmd))
    except StateError as err:
        code, already = ALREADY.get(cmd, (None, ""))
        if not o.wait or err.code != code:
            raise
        # The instance is where the action leads: what a --wait caller wants.
        ctx.say(f"{name}: {already}")
        ctx.emit(ctx.run(instances.get(e, iid)), "instance")
        return
    if outcome is None:
        return
    if not o.wait:
        _report(ctx, name, cmd, outcome)
        return
    target = LEADS_TO.get(cmd)
    with ctx.progress(DOING[cmd], name, target) as p:
        if target is None:
            ctx.run(instances.wait_gone(e, iid, o.timeout, o.poll, p.poll))
        elif target == STOPPED:
            inst = ctx.run(instances.wait_stopped(e, iid, o.timeout, o.poll, p.poll, force_after))
        else:
            inst = ctx.run(instances.wait_until(e, iid, target, o.timeout, o.poll, p.poll))
    if target is None:
        ctx.say(f"{name}: destroyed")
        return
    ctx.emit(inst, "instance")


def _report(ctx: Ctx, name: str, cmd: str, outcome: Outcome) -> None:
    """An action sent without --wait: it has been requested, not done."""
    if ctx.opts.output != "table":
        ctx.emit(outcome)
        return
    detail = " ".join(x for x in (outcome.code, (outcome.message or "").strip()) if x)
    target = LEADS_TO.get(cmd)
    until = f"until it is {target}" if target else "until it is gone"
    typer.echo(
        f"{name}: {cmd} requested" + (f" ({detail})" if detail else "") + f". Use --wait "
        f"to wait {until}."
    )


@command(app, waits=True)
def start(ctx: Ctx, instance: InstanceArg) -> None:
    """Start an instance (--wait: until Running)."""
    _act(ctx, instance, "start")


@command(app, waits=True)
def stop(
    ctx: Ctx,
    instance: InstanceArg,
    force_after: Annotated[
        float | None,
        typer.Option(
            help="With --wait: forcestop if the graceful stop has not finished after this many "
            "seconds."
        ),
    ] = None,
) -> None:
    """Stop an instance gracefully (--wait: until Stopped)."""
    _act(ctx, instance, "stop", force_after)


@command(app, waits=True)
def forcestop(ctx: Ctx, instance: InstanceArg) -> None:
    """Power an instance off at once."""
    _act(ctx, instance, "forcestop")


@command(app, waits=True)
def reset(ctx: Ctx, instance: InstanceArg) -> None:
    """Hard-reset a running instance."""
    _act(ctx, instance, "reset")


@command(app, waits=True)
def destroy(
    ctx: Ctx,
    instance: InstanceArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    stop_first: Annotated[
        bool, typer.Option("--stop", help="Force-stop the instance first if it is running.")
    ] = False,
) -> None:
    """Destroy an instance (it must be stopped; --stop does that first)."""
    e = ctx.engine
    inst = ctx.run(instances.get(e, instance))
    if not yes and not ctx.opts.dry_run:
        if not ctx.env.is_interactive():
            raise ConfigError(
                f"destroying {inst.instance_name} needs --yes", hint="add --yes to confirm"
            )
        typer.confirm(f"Destroy instance {inst.instance_name} ({inst.id})?", abort=True)
    forced = stop_first and not inst.stopped
    if forced and ctx.call(instances.status_call(inst.id, "forcestop")) is not None:
        o = ctx.opts
        with ctx.progress("stopping", inst.instance_name, STOPPED) as p:
            ctx.run(instances.wait_until(e, inst.id, STOPPED, o.timeout, o.poll, p.poll))
    _act(ctx, str(inst.id), "destroy", name=inst.instance_name)


@command(app, waits=True)
def wait(
    ctx: Ctx,
    instance: InstanceArg,
    status: Annotated[
        str, typer.Option("--for", "--status", help="Running, Stopped, OPEN, READY, or gone.")
    ] = RUNNING,
) -> None:
    """Wait until an instance reaches a status."""
    e = ctx.engine
    ctx.opts = o = ctx.opts._replace(wait=True)
    with ctx.progress("waiting for", f"{instance} to be {status}") as p:
        if status.lower() == "gone":
            ctx.run(instances.wait_gone(e, instance, o.timeout, o.poll, p.poll))
            ctx.say(f"{instance}: gone")
            return
        inst = ctx.run(instances.wait_until(e, instance, status, o.timeout, o.poll, p.poll))
    ctx.emit(inst, "instance")


def ssh_user(inst: Instance, configured: str | None) -> str:
    if configured:
        return configured
    code = ((inst.os.code or inst.os.name) if inst.os else "").lower()
    return next((user for family, user in SSH_USERS.items() if code.startswith(family)), "root")


@command(app)
def ssh(
    ctx: Ctx,
    instance: InstanceArg,
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="More ssh arguments or a remote command, after --.", show_default=False
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user", "-l", help="Login user (default: by OS family, or the profile's ssh_user)."
        ),
    ] = None,
    identity: Annotated[
        str | None, typer.Option("--identity", "-i", help="Private key file for ssh.")
    ] = None,
) -> None:
    """Open ssh to the instance's address with the login user of its OS."""
    e = ctx.engine
    inst = ctx.run(instances.get(e, instance))
    if not inst.ip:
        raise LookupFailed(f"{inst.instance_name} has no address yet ({inst.instancestatus})")
    if not ctx.opts.dry_run and ctx.run(server.driver(e)) == "sim":
        raise IndigoError(
            f"{inst.instance_name} is an instance of aiiro's simulator (`aiiro serve "
            f"--driver sim`, the default): no machine runs behind {inst.ip}, so ssh "
            "cannot connect",
            hint="to log in to instances, run the server with `aiiro serve --driver "
            "libvirt` (real VMs; docs/operating-a-host.md), or use the real Indigo service",
        )
    argv = ["ssh"]
    if identity:
        argv += ["-i", identity]
    argv.append(f"{ssh_user(inst, user or ctx.settings.ssh_user)}@{inst.ip}")
    argv += args or []
    if ctx.opts.dry_run:
        typer.echo(shlex.join(argv))
        return
    if ctx.env.exec_ssh is not None:
        raise typer.Exit(ctx.env.exec_ssh(argv))
    os.execvp("ssh", argv)  # replaces this process
