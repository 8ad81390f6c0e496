"""`aiiro configure` and `aiiro profile ...`: named profiles in
<user config dir>/aiiro/config.toml (mode 0600), e.g.

    default = "local"

    [profiles.local]
    endpoint = "http://127.0.0.1:8080"
    api_key = "..."
    api_secret = "..."
    admin_token = "..."   # optional: an aiiro server's admin token (boot probe)
    ssh_user = "debian"   # optional: login user for `aiiro instance ssh`
"""

from __future__ import annotations

from typing import Annotated

import typer

from aiiro.cli.client.common import environment, inherit, reporting
from aiiro.cli.client.output import FORMATS, render
from aiiro.cli.client.session import Options, Session
from aiiro.client_core.config import (
    DEFAULT_ENDPOINT,
    PROFILE_KEYS,
    ProfileFile,
    read_profiles,
    write_profiles,
)
from aiiro.client_core.errors import ConfigError

profile_app = typer.Typer(help="Named profiles: list, show, use, delete.", no_args_is_help=True)


def configure(
    click_ctx: typer.Context,
    profile: Annotated[
        str, typer.Option("--profile", "--context", help="Name of the credentials profile.")
    ] = "default",
    endpoint: Annotated[
        str | None,
        typer.Option(
            help="API base URL (https://api.customer.jp for Indigo, http://127.0.0.1:8080 for a "
            "local aiiro)."
        ),
    ] = None,
    api_key: Annotated[str | None, typer.Option(help="API key.")] = None,
    api_secret: Annotated[str | None, typer.Option(help="API secret.")] = None,
    admin_token: Annotated[
        str | None, typer.Option(help="Admin token of an aiiro server (optional).")
    ] = None,
    ssh_user: Annotated[
        str | None, typer.Option(help="Login user for `aiiro instance ssh` (optional).")
    ] = None,
    make_default: Annotated[
        bool,
        typer.Option(
            "--default/--not-default", help="Make this the profile used when none is named."
        ),
    ] = True,
    check: Annotated[
        bool, typer.Option("--check", help="Fetch a token to check the credentials.")
    ] = False,
) -> None:
    """Create or change a profile; asks for what is not given when run in a terminal."""
    env = environment(click_ctx)
    # Also as given before the command: `aiiro --profile local configure ...`.
    profile = inherit(click_ctx, "profile", profile)
    endpoint = inherit(click_ctx, "endpoint", endpoint)
    api_key = inherit(click_ctx, "api_key", api_key)
    api_secret = inherit(click_ctx, "api_secret", api_secret)
    with reporting():
        places = env.where()
        pf = read_profiles(places.profile_file)
        current = dict(pf.profiles.get(profile, {}))
        given = {
            "endpoint": endpoint,
            "api_key": api_key,
            "api_secret": api_secret,
            "admin_token": admin_token,
            "ssh_user": ssh_user,
        }
        for key, value in given.items():
            if value is not None:
                current[key] = value
        if env.is_interactive():
            if endpoint is None:
                current["endpoint"] = typer.prompt(
                    "Endpoint", default=current.get("endpoint", DEFAULT_ENDPOINT)
                )
            if api_key is None:
                current["api_key"] = typer.prompt("API key", default=current.get("api_key"))
            if api_secret is None:
                current["api_secret"] = typer.prompt(
                    "API secret",
                    hide_input=True,
                    default=current.get("api_secret"),
                    show_default=False,
                )
        if not current.get("api_key") or not current.get("api_secret"):
            raise ConfigError("a profile needs --api-key and --api-secret")
        current.setdefault("endpoint", DEFAULT_ENDPOINT)
        pf.profiles[profile] = {k: current[k] for k in PROFILE_KEYS if current.get(k)}
        if make_default or pf.default is None:
            pf.default = profile
        path = write_profiles(places, pf)
        typer.echo(
            f"profile {profile!r} saved in {path}" + (" (default)" if pf.default == profile else "")
        )
        if check:
            session = Session(Options(profile=profile), env)
            token = session.run(session.engine.token(refresh=True))
            typer.echo(f"credentials work: token valid for {token.expires_in} s")


def _mask(key: str, value: str) -> str:
    if key in ("api_secret", "admin_token"):
        return value[:2] + "…" if value else ""
    return value


def _load(click_ctx: typer.Context) -> tuple[ProfileFile, str]:
    places = environment(click_ctx).where()
    return read_profiles(places.profile_file), places.profile_file


@profile_app.command("list")
def profile_list(
    click_ctx: typer.Context,
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o", help="table, json or yaml.", autocompletion=lambda: list(FORMATS)
        ),
    ] = "table",
) -> None:
    """List the credentials profiles (secrets are not shown)."""
    output = inherit(click_ctx, "output", output)
    if output not in FORMATS:
        raise typer.BadParameter(f"{output!r}: choose table, json or yaml", param_hint="'--output'")
    with reporting():
        pf, path = _load(click_ctx)
        if not pf.profiles and output == "table":
            typer.echo(f"no profiles in {path}; `aiiro configure` creates one")
            return
        rows = [
            {
                "name": name,
                "endpoint": values.get("endpoint", DEFAULT_ENDPOINT),
                "default": name == pf.default,
            }
            for name, values in pf.profiles.items()
        ]
        typer.echo(render(rows, output, "profile"))


@profile_app.command("show")
def profile_show(
    click_ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Profile (default: the default).")] = None,
) -> None:
    """Show a profile (secrets masked)."""
    with reporting():
        pf, path = _load(click_ctx)
        chosen = name or pf.default
        if not chosen or chosen not in pf.profiles:
            raise ConfigError(f"no profile {chosen!r} in {path}")
        typer.echo(f"[{chosen}]" + (" (default)" if chosen == pf.default else ""))
        for key, value in pf.profiles[chosen].items():
            typer.echo(f"{key} = {_mask(key, value)}")


@profile_app.command("use")
def profile_use(
    click_ctx: typer.Context, name: Annotated[str, typer.Argument(help="Profile name.")]
) -> None:
    """Make a profile the default."""
    with reporting():
        places = environment(click_ctx).where()
        pf = read_profiles(places.profile_file)
        if name not in pf.profiles:
            raise ConfigError(f"no profile {name!r} in {places.profile_file}")
        pf.default = name
        write_profiles(places, pf)
        typer.echo(f"default profile: {name}")


@profile_app.command("delete")
def profile_delete(
    click_ctx: typer.Context, name: Annotated[str, typer.Argument(help="Profile name.")]
) -> None:
    """Delete a profile."""
    with reporting():
        places = environment(click_ctx).where()
        pf = read_profiles(places.profile_file)
        if pf.profiles.pop(name, None) is None:
            raise ConfigError(f"no profile {name!r} in {places.profile_file}")
        if pf.default == name:
            pf.default = next(iter(pf.profiles), None)
        write_profiles(places, pf)
        typer.echo(f"profile {name!r} deleted")
