"""`aiiro host`: prepare this machine as a compute host for the libvirt driver, or check it."""

from __future__ import annotations

from typing import Annotated

import typer

host_app = typer.Typer(
    help="Compute host: install and start libvirt and QEMU, create storage and networks.",
    no_args_is_help=True,
)


@host_app.command("setup")
def host_setup(
    install: Annotated[
        bool, typer.Option("--install/--no-install", help="Install missing Debian packages")
    ] = True,
    build_image: Annotated[
        bool,
        typer.Option("--build-image/--no-build-image", help="Build the tiny image if none"),
    ] = True,
) -> None:
    """Install and start what a host needs where it is missing (idempotent; no systemd
    needed), prove that a machine starts on each region's network, then say "ready".
    Settings come from AIIRO_* (storage dir, networks)."""
    from aiiro.config import Settings
    from aiiro.host.setup import setup
    from aiiro.images.store import ImageStore

    settings = Settings()
    try:
        setup(settings, install=install, say=typer.echo)
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    store = ImageStore(settings.libvirt_storage_dir / "images")
    images = store.all()
    if images:
        typer.echo(f"ok       images: {', '.join(i.name for i in images)}")
    elif build_image:
        from aiiro.images.store import ANY_OS
        from aiiro.images.tiny import build_tiny

        image = build_tiny(store, log=typer.echo)
        if ANY_OS not in store.os_map():
            store.map_os(ANY_OS, image.name)
        typer.echo(f"done     images: built {image.name}, for every OS without its own image")
    else:
        typer.echo("note     images: none yet; run `aiiro images build tiny`")
        return
    typer.echo("ready: this host runs instances (aiiro serve --driver libvirt)")


@host_app.command("check")
def host_check() -> None:
    """Look at every requirement without changing anything and print one line each: ok,
    or missing and the command that fixes it. Exit status 1 when something is missing."""
    from aiiro.config import Settings
    from aiiro.host.setup import check

    findings = check(Settings())
    for finding in findings:
        typer.echo(str(finding))
    missing = [f for f in findings if f.status == "missing"]
    if missing:
        typer.echo(f"not ready: {len(missing)} missing")
        raise typer.Exit(1)
    typer.echo("ready: this host runs instances")
