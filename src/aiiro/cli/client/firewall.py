"""`aiiro firewall ...`: templates from flags or from a YAML/JSON file.

A file holds the API's own body, with instance names allowed and rules as objects or specs:

    name: web
    inbound:
      - tcp:22@203.0.113.5
      - {type: HTTPS, protocol: TCP, port: "443", source: 0.0.0.0}
    outbound: []
    instances: [web1]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from aiiro.cli.client import lists
from aiiro.cli.client.common import Ctx, command
from aiiro.client import firewalls, instances
from aiiro.client.models import Rule
from aiiro.client_core.errors import ConfigError

app = typer.Typer(
    help="Firewall templates: create, update, list, show, assign, delete.", no_args_is_help=True
)

TemplateArg = Annotated[str, typer.Argument(help="Template name or id.", show_default=False)]
RULE_HELP = "tcp:PORT, udp:PORT, icmp, http, https, ssh or rdp, optionally @SOURCE; repeatable."
InboundOpt = Annotated[list[str] | None, typer.Option("--in", help=f"Inbound rule: {RULE_HELP}")]
OutboundOpt = Annotated[list[str] | None, typer.Option("--out", help=f"Outbound rule: {RULE_HELP}")]
InstancesOpt = Annotated[
    list[str] | None,
    typer.Option("--instance", help="Assign to this instance (name or id); repeatable."),
]
FileOpt = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="YAML or JSON file with name, inbound, outbound, instances."),
]


def load_file(path: Path) -> dict[str, Any]:
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with name, inbound, outbound")
    return data


def _rules(specs: Any, where: str) -> list[Rule] | None:
    if specs is None:
        return None
    if not isinstance(specs, list):
        raise ConfigError(f"{where}: expected a list of rules")
    try:
        return [firewalls.parse_rule(s) for s in specs]
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _spec(
    file: Path | None,
    name: str | None,
    inbound: list[str] | None,
    outbound: list[str] | None,
    instance_refs: list[str] | None,
) -> tuple[str | None, list[Rule] | None, list[Rule] | None, list[str] | None]:
    """Flags over file values."""
    data = load_file(file) if file else {}
    refs = instance_refs or data.get("instances")
    return (
        name or data.get("name"),
        _rules(inbound, "--in") or _rules(data.get("inbound"), "inbound"),
        _rules(outbound, "--out") or _rules(data.get("outbound"), "outbound"),
        [str(r) for r in refs] if refs is not None else None,
    )


def _ids(ctx: Ctx, refs: list[str] | None) -> list[int] | None:
    if refs is None:
        return None
    return [ctx.run(instances.instance_id(ctx.engine, r)) for r in refs]


def _say(ctx: Ctx, what: str, message: str | None, data: Any) -> None:
    if ctx.opts.output == "table":
        typer.echo(f"{what}: {(message or 'done').strip()}")
    else:
        ctx.emit(data)


command(app, "list")(lists.firewalls)


@command(app)
def show(ctx: Ctx, template: TemplateArg) -> None:
    """Show a template's rules."""
    t = ctx.run(firewalls.get(ctx.engine, template))
    if ctx.opts.output != "table":
        ctx.emit(t)
        return
    rows = [{"direction": "in", **r.to_api()} for r in t.inbound]
    rows += [{"direction": "out", **r.to_api()} for r in t.outbound]
    typer.echo(f"{t.name} (id {t.id})")
    if rows:
        ctx.emit(rows, "rule")
    else:
        typer.echo("no rules")


@command(app)
def create(
    ctx: Ctx,
    name: Annotated[str | None, typer.Option(help="Template name.")] = None,
    inbound: InboundOpt = None,
    outbound: OutboundOpt = None,
    instance: InstancesOpt = None,
    file: FileOpt = None,
) -> None:
    """Create a template from flags or a file (and assign it to --instance)."""
    name_, ins, outs, refs = _spec(file, name, inbound, outbound, instance)
    if not name_:
        raise ConfigError("a template needs a name (--name or `name:` in the file)")
    call = firewalls.create_call(name_, ins or [], outs or [], _ids(ctx, refs) or [])
    out = ctx.call(call)
    if out is not None:
        _say(ctx, name_, f"{out.message} (id {out.firewall_id})", out)


@command(app)
def update(
    ctx: Ctx,
    template: TemplateArg,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    inbound: InboundOpt = None,
    outbound: OutboundOpt = None,
    instance: InstancesOpt = None,
    file: FileOpt = None,
) -> None:
    """Replace a template's rules (inbound and outbound given are the new sets; what is
    not given stays)."""
    name_, ins, outs, refs = _spec(file, name, inbound, outbound, instance)
    e = ctx.engine
    current = ctx.run(firewalls.get(e, template))
    call = firewalls.update_call(
        current.id,
        name_ or current.name or "",
        ins if ins is not None else current.inbound,
        outs if outs is not None else current.outbound,
        _ids(ctx, refs),
    )
    out = ctx.call(call)
    if out is not None:
        _say(ctx, current.name or str(current.id), out.message, out)


@command(app)
def assign(
    ctx: Ctx,
    template: TemplateArg,
    instance: Annotated[str, typer.Argument(help="Instance name or id.", show_default=False)],
) -> None:
    """Assign a template to an instance."""
    e = ctx.engine
    tid = ctx.run(firewalls.template_id(e, template))
    iid = ctx.run(instances.instance_id(e, instance))
    out = ctx.call(firewalls.assign_call(tid, iid))
    if out is not None:
        _say(ctx, f"{template} → {instance}", out.message, out)


@command(app)
def delete(ctx: Ctx, template: TemplateArg) -> None:
    """Delete a template (not while assigned to an active instance: F60009)."""
    tid = ctx.run(firewalls.template_id(ctx.engine, template))
    out = ctx.call(firewalls.delete_call(tid))
    if out is not None:
        _say(ctx, template, out.message, out)
