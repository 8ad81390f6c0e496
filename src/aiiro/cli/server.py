"""`aiiro serve` and `aiiro admin`: the server side of the command line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from aiiro.config import Settings

# Seconds uvicorn's supervisor waits for an API process to answer its health check before
# it kills and replaces it (uvicorn's default: 5). A process starting on a busy machine
# (importing aiiro, connecting to the store) can take longer than 5 s to answer: killed,
# it is started again, on a machine made busier by the restarts (bench_scale.py saw
# workers replaced in every round at a load average of 20 on 2 cores).
WORKER_HEALTHCHECK_S = 60

serve_app = typer.Typer()
admin_app = typer.Typer(
    help="Operator commands that act on the store directly (no server needed).",
    no_args_is_help=True,
)
account_app = typer.Typer(help="Accounts: create, list, disable, enable.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys of an account.", no_args_is_help=True)
admin_app.add_typer(account_app, name="account")
admin_app.add_typer(apikey_app, name="apikey")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory [env AIIRO_DATA_DIR]")
]
DbUrl = Annotated[
    str | None, typer.Option("--database-url", help="SQLAlchemy URL [env AIIRO_DATABASE_URL]")
]


def settings_from(**overrides: Any) -> Settings:
    """Settings from the environment and the given flags; a bad value ends the command
    with a one-line message per setting instead of a traceback."""
    from pydantic import ValidationError

    from aiiro.config import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            flag = name.replace("_", "-")
            typer.echo(
                f"aiiro: bad setting {name} (--{flag} / AIIRO_{name.upper()}): {err['msg']}",
                err=True,
            )
        raise typer.Exit(2) from None


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind [env AIIRO_HOST; default 127.0.0.1]")
    ] = None,
    port: Annotated[Optional[int], typer.Option(help="Port [env AIIRO_PORT; default 8080]")] = None,  # noqa: UP045
    data_dir: DataDir = None,
    database_url: DbUrl = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="Timing profile: fast, faithful, instant (not the client's credentials "
            "profile) [env AIIRO_PROFILE]"
        ),
    ] = None,
    driver: Annotated[
        str | None, typer.Option(help="Compute driver: sim or libvirt [env AIIRO_DRIVER]")
    ] = None,
    quota: Annotated[
        bool | None,
        typer.Option(
            "--quota/--no-quota",
            help="6 requests/minute per API key [env AIIRO_QUOTA; default: on in faithful only]",
        ),
    ] = None,
    write_secret: Annotated[
        Path | None,
        typer.Option(
            "--write-secret",
            help="Keep the first account's key, secret and endpoint in this file, in "
            "~/.webarena_secret format (0600) [default: <data dir>/webarena_secret]",
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="API processes (uvicorn workers)")] = 1,
    engine: Annotated[
        bool | None,
        typer.Option(
            "--engine/--no-engine",
            help="Run lifecycle operations in this server; --no-engine: `aiiro worker` "
            "processes run them [env AIIRO_ENGINE; default: on]",
        ),
    ] = None,
) -> None:
    """Run the Indigo API server (and the control panel), with the lifecycle engine."""
    import uvicorn

    from aiiro.bootstrap import CREDENTIALS_FILE, bootstrap, first_account_credentials
    from aiiro.compute.factory import missing_requirement
    from aiiro.runtime import build_runtime

    settings = settings_from(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        profile=profile,
        driver=driver,
        quota=quota,
        engine=engine,
    )
    # Refusals come before anything is made: no data dir, account or key for a start
    # that cannot serve.
    missing = missing_requirement(settings.driver)
    if missing is not None:
        _fail(missing)
    if settings.seed is not None and not settings.loopback_only:
        _fail("AIIRO_SEED makes keys and tokens predictable: only on a loopback address")
    taken = _port_taken(settings.host, settings.port)
    if taken is not None:
        _fail(
            f"cannot listen on {settings.host}:{settings.port}: {taken} "
            "(another aiiro serve? choose a port with --port or AIIRO_PORT)"
        )
    rt = build_runtime(settings)
    boot = bootstrap(rt)
    secret_file = write_secret or settings.data_dir / CREDENTIALS_FILE
    renewed = first_account_credentials(rt, boot, secret_file)
    rt.sync()  # a profile or quota switched at runtime outlives a restart on the same settings
    _announce(settings, boot, secret_file, renewed, rt.profile, rt.quota)
    rt.db.dispose()
    os.environ.update(_settings_env(settings))
    from aiiro.serve import BoundedHttp

    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        "http": BoundedHttp,
    }
    if workers > 1:
        uvicorn.run(
            "aiiro.serve:app_from_env",
            factory=True,
            workers=workers,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
            **options,
        )
    else:
        from aiiro.serve import app_from_env

        uvicorn.run(app_from_env(), **options)


def worker(
    data_dir: DataDir = None,
    database_url: DbUrl = None,
    driver: Annotated[
        str | None, typer.Option(help="Compute driver: sim or libvirt [env AIIRO_DRIVER]")
    ] = None,
) -> None:
    """Run lifecycle operations for `aiiro serve --no-engine` servers on the same
    database (as many workers, on as many machines, as you like); stops on SIGTERM or
    Ctrl-C, handing back what it had claimed."""
    import signal
    import threading

    from aiiro.compute.factory import missing_requirement
    from aiiro.runtime import build_runtime
    from aiiro.serve import log_to_stderr, make_engine

    settings = settings_from(
        data_dir=data_dir, database_url=database_url, driver=driver, engine=True, worker=True
    )
    missing = missing_requirement(settings.driver)
    if missing is not None:
        _fail(missing)
    log_to_stderr(settings.log_level)
    rt = build_runtime(settings)
    rt.db.upgrade()
    rt.sync()  # the clock, the profile: as the servers set them
    work = make_engine(rt)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    work.start()
    typer.echo(
        f"aiiro worker {work.worker_id}: running operations "
        f"({settings.driver}, {settings.effective_database_url.split('://')[0]})"
    )
    try:
        while not stop.wait(1.0):
            pass
    finally:
        work.stop()
        rt.request_log.close()
        rt.db.dispose()
    typer.echo("aiiro worker stopped")


def _fail(message: str) -> None:
    typer.echo(f"aiiro: {message}", err=True)
    raise typer.Exit(1)


def _port_taken(host: str, port: int) -> str | None:
    """Why (host, port) cannot be listened on now, or None. uvicorn binds the same way
    (SO_REUSEADDR) a moment later."""
    import socket

    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError as exc:
        return str(exc)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _settings_env(settings: Settings) -> dict[str, str]:
    env = {}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"AIIRO_{name.upper()}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    return env


def _announce(
    settings: Settings, boot: Any, secret_file: Path, renewed: bool, profile: str, quota: bool
) -> None:
    from aiiro.bootstrap import ADMIN_TOKEN_FILE, write_private

    base = settings.base_url
    typer.echo(f"aiiro serving the Indigo API on {base}")
    typer.echo(
        f"  data:    {settings.data_dir}  ({settings.effective_database_url.split('://')[0]})"
    )
    switched = (profile, quota) != (settings.profile, settings.quota_enabled)
    typer.echo(
        f"  driver:  {settings.driver}   profile: {profile}   quota: {'on' if quota else 'off'}"
        + ("   (switched through /_aiiro/profile)" if switched else "")
    )
    typer.echo(f"  docs:    {base}/docs   (OpenAPI: {base}/openapi.json)   panel: {base}/panel")
    if not settings.loopback_only:
        typer.echo(
            f"  exposed: bound to {settings.host} in plain HTTP; sign-up "
            f"{'OPEN' if settings.signup_open else 'off'}, /_aiiro/ from loopback"
            f"{' and ' + settings.admin_networks if settings.admin_networks else ''} only; "
            "put TLS in front (docs/deployment.md)"
        )
    if boot.new_key is not None and settings.show_secrets:
        typer.echo("  first account created. Its API key (the secret is shown only now):")
        typer.echo(f"    export IndigoApiKey={boot.new_key.api_key}")
        typer.echo(f"    export IndigoApiPrivateKey={boot.new_key.api_secret}")
        typer.echo(f"    export AIIRO_ENDPOINT={base}")
    typer.echo(
        f"  credentials: source {secret_file}"
        + ("   (a new key: the one there no longer worked)" if renewed else "")
    )
    typer.echo(
        "    (key, secret and AIIRO_ENDPOINT of the first account, for curl, aiiro, the SDK)"
    )
    if boot.admin_token is not None:
        token_file = settings.data_dir / ADMIN_TOKEN_FILE
        write_private(token_file, boot.admin_token + "\n")
        shown = f": {boot.admin_token}" if settings.show_secrets else ""
        typer.echo(f"  admin token for /_aiiro/* (kept in {token_file}){shown}")


def _runtime(data_dir: Path | None, database_url: str | None) -> Any:
    from aiiro.runtime import build_runtime

    rt = build_runtime(settings_from(data_dir=data_dir, database_url=database_url))
    rt.db.upgrade()
    return rt


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@admin_app.command("upgrade")
def upgrade(data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Bring the store's schema to this version of aiiro (what `aiiro serve` and `aiiro
    worker` also do on start; run it alone, with every process stopped, to upgrade a
    deployment of several)."""
    from sqlalchemy import text

    rt = _runtime(data_dir, database_url)
    with rt.db.read() as s:
        revision = s.execute(text("SELECT version_num FROM alembic_version")).scalar()
    rt.db.dispose()
    typer.echo(f"schema at revision {revision}")


@account_app.command("create")
def account_create(
    name: Annotated[str, typer.Option(help="Account holder's name")],
    email: Annotated[str | None, typer.Option(help="Sign-in e-mail for the control panel")] = None,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Create an account and its first API key (the secret is printed once)."""
    from aiiro.domain import accounts
    from aiiro.domain.errors import IndigoError
    from aiiro.emulator.admin import account_json

    rt = _runtime(data_dir, database_url)
    try:
        with rt.db.write() as s:
            account = accounts.create_account(rt, s, name, email)
            key = accounts.create_api_key(rt, s, account.id)
            out = account_json(account)
    except IndigoError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None
    _print({"account": out, "apiKey": key.api_key, "apiSecret": key.api_secret})


@account_app.command("list")
def account_list(
    data_dir: DataDir = None,
    database_url: DbUrl = None,
    output: Annotated[str, typer.Option("--output", "-o", help="table, json or yaml")] = "table",
) -> None:
    """List accounts."""
    from aiiro.cli.client.output import FORMATS, render
    from aiiro.domain import accounts
    from aiiro.emulator.admin import account_json

    if output not in FORMATS:
        raise typer.BadParameter(f"{output!r}: choose table, json or yaml", param_hint="'-o'")
    rt = _runtime(data_dir, database_url)
    with rt.db.read() as s:
        typer.echo(render([account_json(a) for a in accounts.list_accounts(s)], output, "account"))


def _set_status(
    account_id: int, status: str, data_dir: Path | None, database_url: str | None
) -> None:
    from aiiro.domain import accounts
    from aiiro.emulator.admin import account_json

    rt = _runtime(data_dir, database_url)
    with rt.db.write() as s:
        account = accounts.set_account_status(rt, s, account_id, status)
        if account is None:
            typer.echo(f"no account {account_id}", err=True)
            raise typer.Exit(1)
        _print(account_json(account))


@account_app.command("disable")
def account_disable(account_id: int, data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Disable an account: its tokens stop working and no new ones are issued."""
    _set_status(account_id, "disabled", data_dir, database_url)


@account_app.command("enable")
def account_enable(account_id: int, data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Enable a disabled account again."""
    _set_status(account_id, "active", data_dir, database_url)


@account_app.command("password")
def account_password(
    account_id: int,
    email: Annotated[str, typer.Option(help="Sign-in e-mail for the control panel")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Control-panel password (asked for when not given) [env AIIRO_PANEL_PASSWORD]",
            envvar="AIIRO_PANEL_PASSWORD",
        ),
    ],
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Give an account a control-panel login (e-mail and password), e.g. the first one."""
    from aiiro.web.accounts import PanelProblem, set_password
    from aiiro.web.i18n import translate

    rt = _runtime(data_dir, database_url)
    try:
        found = set_password(rt, account_id, email, password)
    except PanelProblem as problem:
        typer.echo(translate("en", problem.key), err=True)
        raise typer.Exit(1) from None
    if not found:
        typer.echo(f"no account {account_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"account {account_id} signs in to the control panel as {email.strip().lower()}")


@apikey_app.command("create")
def apikey_create(
    account: Annotated[int, typer.Option("--account", help="Account id")],
    data_dir: DataDir = None,
    database_url: DbUrl = None,
    write_secret: Annotated[
        Path | None,
        typer.Option("--write-secret", help="Also write it in ~/.webarena_secret format"),
    ] = None,
) -> None:
    """Create an API key for an account (the secret is printed once)."""
    from aiiro.bootstrap import write_secret_file
    from aiiro.domain import accounts

    rt = _runtime(data_dir, database_url)
    with rt.db.write() as s:
        if accounts.get_account(s, account) is None:
            typer.echo(f"no account {account}", err=True)
            raise typer.Exit(1)
        key = accounts.create_api_key(rt, s, account)
    if write_secret is not None:
        write_secret_file(write_secret, key.api_key, key.api_secret, rt.settings.base_url)
    _print({"id": key.id, "accountId": account, "apiKey": key.api_key, "apiSecret": key.api_secret})
