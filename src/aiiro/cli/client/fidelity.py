"""`aiiro parity`, `aiiro record`, `aiiro replay`: checking an Indigo endpoint against
another (aiiro.fidelity; docs/parity.md).

The left side of a comparison is what the client commands talk to (the usual options,
profile and variables); the other side, `--against URL`, takes its credentials from
`--against-key`/`--against-secret` (AIIRO_AGAINST_API_KEY/AIIRO_AGAINST_API_SECRET) or
from a profile named with `--against-profile`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aiiro.cli.client import exits
from aiiro.cli.client.common import Ctx
from aiiro.client_core.config import Settings, resolve
from aiiro.client_core.errors import ConfigError
from aiiro.client_core.policy import Engine
from aiiro.client_core.tokens import MemoryTokens
from aiiro.inputs import redacted

if TYPE_CHECKING:
    from aiiro.fidelity.compare import Report
    from aiiro.fidelity.parity import Side

ENV_AGAINST_KEY = "AIIRO_AGAINST_API_KEY"
ENV_AGAINST_SECRET = "AIIRO_AGAINST_API_SECRET"
PANEL = "The other side"

Against = Annotated[
    str,
    typer.Option(
        "--against",
        help="The other endpoint's base URL (https://api.customer.jp, or an aiiro).",
        rich_help_panel=PANEL,
        show_default=False,
    ),
]
AgainstKey = Annotated[
    str | None,
    typer.Option(help=f"The other side's API key [env {ENV_AGAINST_KEY}].", rich_help_panel=PANEL),
]
AgainstSecret = Annotated[
    str | None,
    typer.Option(
        help=f"The other side's API secret [env {ENV_AGAINST_SECRET}].", rich_help_panel=PANEL
    ),
]
AgainstProfile = Annotated[
    str | None,
    typer.Option(
        help="Take the other side's key and secret from this profile (`aiiro configure`).",
        rich_help_panel=PANEL,
    ),
]


def against_settings(
    ctx: Ctx, url: str, key: str | None, secret: str | None, profile: str | None
) -> Settings:
    """The other side's endpoint and credentials: options, then variables, then a profile."""
    environ = ctx.env.environ
    key = key or environ.get(ENV_AGAINST_KEY)
    secret = secret or environ.get(ENV_AGAINST_SECRET)
    if key and secret:
        return Settings(
            url.rstrip("/"), key, secret, source="--against-key", endpoint_source="--against"
        )
    if key or secret:
        raise ConfigError(
            "the other side's API key was given without its secret, or the secret without its key",
            hint=f"give both: --against-key and --against-secret ({ENV_AGAINST_KEY}, "
            f"{ENV_AGAINST_SECRET})",
        )
    if profile:
        found = resolve(profile=profile, endpoint=url, places=ctx.env.where())
        found.require_credentials()
        return found
    raise ConfigError(
        f"no credentials for {redacted(url)}",
        hint=f"give --against-key and --against-secret ({ENV_AGAINST_KEY}, "
        f"{ENV_AGAINST_SECRET}), or --against-profile NAME",
    )


def _no_dry_run(ctx: Ctx) -> None:
    """A comparison is made of answers: under --dry-run it would have to send what the
    user asked not to send (and a scenario writes)."""
    if ctx.opts.dry_run:
        raise typer.BadParameter(
            "there is nothing to compare without sending requests: leave --dry-run out "
            "(without --scenario, parity only reads)",
            param_hint="'--dry-run'",
        )


def _side(ctx: Ctx, label: str, engine: Engine) -> Side:
    from aiiro.fidelity.parity import Side

    engine.on_quota_wait = lambda text: ctx.notice(f"{label}: {text}")
    return Side(label, engine)


def _other_engine(ctx: Ctx, settings: Settings) -> Engine:
    return Engine(settings, tokens=MemoryTokens(), clock=ctx.env.clock)


def _show(ctx: Ctx, report: Report) -> None:
    if ctx.opts.output == "table":
        typer.echo(report.text())
    elif ctx.opts.output == "json":
        typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        import yaml

        typer.echo(yaml.safe_dump(report.to_json(), sort_keys=False, allow_unicode=True), nl=False)
    if report.differences:
        raise typer.Exit(exits.DIFFERENT)


def parity(
    ctx: Ctx,
    against: Against,
    against_key: AgainstKey = None,
    against_secret: AgainstSecret = None,
    against_profile: AgainstProfile = None,
    scenario: Annotated[
        str | None,
        typer.Option(
            help="Then run this write scenario on both sides: sshkey-roundtrip, "
            "firewall-roundtrip, instance-lifecycle (costs money on the real service).",
            show_default=False,
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Run the scenario without asking.")
    ] = False,
    os: Annotated[str, typer.Option(help="instance-lifecycle: the OS image.")] = "Debian12",
    plan: Annotated[str, typer.Option(help="instance-lifecycle: the plan.")] = "1CR768MB",
    poll: Annotated[
        float, typer.Option(help="Seconds between polls in a scenario's waits.")
    ] = 10.0,
    timeout: Annotated[
        float, typer.Option(help="Seconds a scenario's wait lasts before it goes on.")
    ] = 900.0,
) -> None:
    """Ask two Indigo endpoints the same calls and show where their answers differ in
    shape: keys, types, key order, status codes, headers. Read-only unless --scenario.
    Exit code 11 when there are differences."""
    from aiiro.fidelity import parity as p
    from aiiro.fidelity.compare import Report

    _no_dry_run(ctx)
    if scenario is not None and scenario not in p.SCENARIOS:
        raise typer.BadParameter(
            f"{scenario!r}: choose {', '.join(p.SCENARIOS)}", param_hint="'--scenario'"
        )
    other = against_settings(ctx, against, against_key, against_secret, against_profile)
    ctx.settings.require_credentials()
    if scenario is not None:
        _confirm(ctx, scenario, other, yes)
    left = _side(ctx, "left", ctx.engine)
    right = _side(ctx, "right", _other_engine(ctx, other))
    report = Report(redacted(ctx.settings.endpoint), redacted(other.endpoint))
    ctx.run(p.run(p.read_only(), left, right, report))
    if scenario is not None:
        name = f"aiiro-parity-{int(ctx.env.clock())}"
        steps = p.SCENARIOS[scenario].steps(name, os, plan)
        try:
            ctx.run(p.run(steps, left, right, report, poll=poll, timeout=timeout))
        finally:
            for side in (left, right):
                for what, ident in side.made.items():
                    ctx.notice(
                        f"warning: {what} {ident} made on the {side.label} "
                        f"({side.engine.endpoint}) was not removed: remove it yourself"
                    )
    _show(ctx, report)


def _confirm(ctx: Ctx, scenario: str, other: Settings, yes: bool) -> None:
    from aiiro.fidelity.parity import SCENARIOS

    chosen = SCENARIOS[scenario]
    cost = (
        "On the real Indigo service this costs money (an instance is charged from its creation)."
        if chosen.costs
        else "It is free of charge, but it changes both accounts while it runs."
    )
    text = (
        f"The scenario {scenario} writes on both sides: it will {chosen.does}, on "
        f"{ctx.settings.endpoint} and on {redacted(other.endpoint)}. {cost}"
    )
    if yes:
        ctx.notice(text)
        return
    if not ctx.env.is_interactive():
        raise ConfigError(text, hint="give --yes to run it without a terminal to ask in")
    typer.confirm(f"{text}\nGo on?", default=False, err=True, abort=True)


def replay(
    ctx: Ctx,
    file: Annotated[
        Path, typer.Argument(help="A recording of `aiiro record`.", show_default=False)
    ],
    against: Against,
    against_key: AgainstKey = None,
    against_secret: AgainstSecret = None,
    against_profile: AgainstProfile = None,
) -> None:
    """Send a recording's calls again to another endpoint (an aiiro) and show where its
    answers differ in shape from the recorded ones. Exit code 11 when they differ."""
    from aiiro.fidelity.compare import Report
    from aiiro.fidelity.recorder import read
    from aiiro.fidelity.replay import replay as run_replay

    _no_dry_run(ctx)
    try:
        target, exchanges = read(file)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {file}: {exc}") from exc
    other = against_settings(ctx, against, against_key, against_secret, against_profile)
    side = _side(ctx, "right", _other_engine(ctx, other))
    report = Report(f"{file} (recorded from {target})", redacted(other.endpoint))
    ctx.run(run_replay(exchanges, side, report))
    _show(ctx, report)


def record(
    target: Annotated[
        str,
        typer.Option(help="The endpoint to forward to.", show_default="https://api.customer.jp"),
    ] = "https://api.customer.jp",
    listen: Annotated[
        str, typer.Option(help="HOST:PORT to listen on; point your client at it.")
    ] = "127.0.0.1:8081",
    out: Annotated[
        Path,
        typer.Option(
            help="The recording: JSON lines, or one JSON document if the name ends in .json.",
            show_default=False,
        ),
    ] = Path("aiiro-recording.jsonl"),
) -> None:
    """Record a client's session with an Indigo endpoint, for a bug report: a reverse
    proxy that forwards every request to --target and keeps each exchange in --out with
    credentials, tokens, API keys, names, SSH keys and addresses hidden."""
    import uvicorn

    from aiiro.fidelity.recorder import Recording, proxy_app

    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise typer.BadParameter(f"{listen!r}: give HOST:PORT", param_hint="'--listen'")
    if not target.startswith(("http://", "https://")):
        raise typer.BadParameter(
            f"{redacted(target)!r}: give an http(s) URL", param_hint="'--target'"
        )
    recording = Recording(out, target)
    typer.echo(
        f"recording to {out}: point your client at http://{listen} "
        f"(forwarding to {redacted(target)}); Ctrl-C ends",
        err=True,
    )
    uvicorn.run(
        proxy_app(target, recording), host=host.strip("[]"), port=int(port), log_level="warning"
    )
    typer.echo(f"{len(recording.exchanges)} exchange(s) recorded in {out}", err=True)
