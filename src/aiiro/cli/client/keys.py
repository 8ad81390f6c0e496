"""`aiiro token`, `aiiro apikey ...`, `aiiro sshkey ...`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aiiro.cli.client import lists
from aiiro.cli.client.common import Ctx, command
from aiiro.client import apikeys, sshkeys
from aiiro.client_core.errors import ConfigError
from aiiro.client_core.policy import TOKEN_PATH, Request

apikey_app = typer.Typer(help="API keys: list, create, delete.", no_args_is_help=True)
sshkey_app = typer.Typer(
    help="SSH keys: create from a file, list, show, update, activate, deactivate, delete.",
    no_args_is_help=True,
)

KeyArg = Annotated[str, typer.Argument(help="SSH key name or id.", show_default=False)]


def token(
    ctx: Ctx,
    refresh: Annotated[
        bool,
        typer.Option("--refresh", help="Fetch a new token even if the cached one is still valid."),
    ] = False,
) -> None:
    """Print an access token (cached per endpoint and key, refreshed before expiry)."""
    if ctx.opts.dry_run:
        key, _ = ctx.settings.require_credentials()
        body = {
            "grantType": "client_credentials",
            "clientId": key,
            "clientSecret": "<secret>",
            "code": "",
        }
        ctx.dry(Request("POST", TOKEN_PATH, body=body, auth=False))
        return
    tok = ctx.run(ctx.engine.token(refresh))
    if ctx.opts.output == "table":
        typer.echo(tok.access_token)
    else:
        ctx.emit(
            {
                "accessToken": tok.access_token,
                "expiresIn": tok.expires_in,
                "expiresAt": int(tok.expires_at),
                "endpoint": ctx.settings.endpoint,
            }
        )


command(apikey_app, "list")(lists.apikeys)


@command(apikey_app, "create")
def apikey_create(ctx: Ctx) -> None:
    """Create an API key. Its secret is shown now and never again."""
    new = ctx.call(apikeys.create_call())
    if new is not None:
        ctx.emit(new)


@command(apikey_app, "delete")
def apikey_delete(ctx: Ctx, key_id: Annotated[int, typer.Argument(help="API key id.")]) -> None:
    """Delete an API key."""
    out = ctx.call(apikeys.delete_call(key_id))
    if out is None:
        return
    if ctx.opts.output == "table":
        typer.echo(out.message or "deleted")
    else:
        ctx.emit(out)


def _read_key(path: Path) -> str:
    try:
        text = path.expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    if text.startswith("-----BEGIN"):
        raise ConfigError(f"{path} is a private key", hint="give the .pub file")
    return text


def _without_comment(key: str, keep: bool) -> str:
    # Indigo refuses keys with a comment (reported 2026): send "type base64" unless asked.
    return key if keep else " ".join(key.split()[:2])


@command(sshkey_app, "list")
def sshkey_list(
    ctx: Ctx,
    active: Annotated[bool, typer.Option("--active", help="Only ACTIVE keys.")] = False,
) -> None:
    """List SSH keys."""
    lists.sshkeys(ctx, active)


@command(sshkey_app, "show")
def sshkey_show(ctx: Ctx, key: KeyArg) -> None:
    """Show one SSH key."""
    ctx.emit(ctx.run(sshkeys.get(ctx.engine, key)), "sshkey", detail=True)


@command(sshkey_app, "create")
def sshkey_create(
    ctx: Ctx,
    name: Annotated[str, typer.Option(help="Key name.", show_default=False)],
    file: Annotated[
        Path, typer.Option(help="Public key file, e.g. ~/.ssh/id_rsa.pub.", show_default=False)
    ],
    keep_comment: Annotated[
        bool,
        typer.Option("--keep-comment", help="Send the key's comment too (Indigo may refuse it)."),
    ] = False,
) -> None:
    """Register a public key from a file (RSA; Indigo refuses ed25519)."""
    public = _without_comment(_read_key(file), keep_comment)
    created = ctx.call(sshkeys.create_call(name, public))
    if created is not None:
        ctx.emit(created, "sshkey")


@command(sshkey_app, "update")
def sshkey_update(
    ctx: Ctx,
    key: KeyArg,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    file: Annotated[Path | None, typer.Option(help="New public key file.")] = None,
    status: Annotated[str | None, typer.Option(help="ACTIVE or DEACTIVE.")] = None,
    keep_comment: Annotated[bool, typer.Option("--keep-comment")] = False,
) -> None:
    """Change a key's name, key text or status (what is not given stays)."""
    public = _without_comment(_read_key(file), keep_comment) if file else None
    _update(ctx, key, name, public, status)


def _update(ctx: Ctx, key: str, name: str | None, public: str | None, status: str | None) -> None:
    e = ctx.engine
    current = ctx.run(sshkeys.get(e, key))
    call = sshkeys.update_call(
        current.id,
        name if name is not None else current.name,
        public if public is not None else current.sshkey,
        sshkeys.normalise_status(status) if status is not None else current.status,
    )
    out = ctx.call(call)
    if out is None:
        return
    if ctx.opts.output == "table":
        typer.echo(f"{current.name}: {(out.message or 'updated').strip()}")
    else:
        ctx.emit(out)


@command(sshkey_app, "activate")
def sshkey_activate(ctx: Ctx, key: KeyArg) -> None:
    """Mark a key ACTIVE."""
    _update(ctx, key, None, None, sshkeys.ACTIVE)


@command(sshkey_app, "deactivate")
def sshkey_deactivate(ctx: Ctx, key: KeyArg) -> None:
    """Mark a key DEACTIVE (it can no longer be given to new instances)."""
    _update(ctx, key, None, None, sshkeys.DEACTIVE)


@command(sshkey_app, "delete")
def sshkey_delete(ctx: Ctx, key: KeyArg) -> None:
    """Delete an SSH key."""
    e = ctx.engine
    current = ctx.run(sshkeys.get(e, key))
    out = ctx.call(sshkeys.delete_call(current.id))
    if out is not None:
        if ctx.opts.output == "table":
            typer.echo(f"{current.name}: {(out.message or 'deleted').strip()}")
        else:
            ctx.emit(out)
