"""`aiiro images`: the base images of this host (build, list, import, remove, map)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Annotated, Any

import typer

images_app = typer.Typer(
    help="Base images for the libvirt driver, and which catalogue OS uses which.",
    no_args_is_help=True,
)

StorageDir = Annotated[
    Path | None,
    typer.Option("--storage-dir", help="[env AIIRO_LIBVIRT_STORAGE_DIR; default /var/lib/aiiro]"),
]


def _store(storage_dir: Path | None) -> Any:
    from aiiro.config import Settings
    from aiiro.images.store import ImageStore

    root = storage_dir or Settings().libvirt_storage_dir
    return ImageStore(Path(root) / "images")


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


RECIPES = ("tiny", "debian12")


@images_app.command("build")
def images_build(
    recipe: Annotated[
        str,
        typer.Argument(help="tiny (kernel + busybox + dropbear) or debian12 (cloud-init)"),
    ] = "tiny",
    name: Annotated[str | None, typer.Option("--name", help="Image name [the recipe's]")] = None,
    kernel_deb: Annotated[
        Path | None,
        typer.Option("--kernel-deb", help="tiny: a linux-image .deb (default: apt-get download)"),
    ] = None,
    map_all: Annotated[
        bool,
        typer.Option("--map-all/--no-map", help="Map every OS without its own image to it"),
    ] = True,
    storage_dir: StorageDir = None,
) -> None:
    """Build an image from Debian packages only. `tiny`: the Debian kernel and an initramfs
    with busybox and dropbear that reads its address and SSH key from the kernel command
    line (seconds to build and to boot). `debian12`: debootstrap'ed Debian 12 with
    cloud-init and OpenSSH (minutes), mapped to the Debian OS ids 18 and 22."""
    from aiiro.images.store import ANY_OS, ImageError

    if recipe not in RECIPES:
        typer.echo(f"error: unknown recipe {recipe!r}; one of {', '.join(RECIPES)}", err=True)
        raise typer.Exit(2)
    store = _store(storage_dir)
    try:
        if recipe == "tiny":
            from aiiro.images.tiny import build_tiny

            image = build_tiny(store, name or recipe, kernel_deb, log=typer.echo)
            if map_all and ANY_OS not in store.os_map():
                store.map_os(ANY_OS, image.name)
                typer.echo(f"every OS without its own image now boots {image.name}")
        else:
            from aiiro.images.debian import build_debian

            image = build_debian(store, name or recipe, log=typer.echo)
            for os_id in ("18", "22"):
                store.map_os(os_id, image.name)
            typer.echo(f"Debian 11 and 12 (OS ids 18, 22) now boot {image.name}")
    except (ImageError, OSError, subprocess.CalledProcessError) as exc:
        raise _fail(exc) from exc


@images_app.command("list")
def images_list(storage_dir: StorageDir = None) -> None:
    """The images and the OS map, as JSON."""
    store = _store(storage_dir)
    typer.echo(
        json.dumps(
            {
                "images": [{**i.meta(), "path": str(i.path)} for i in store.all()],
                "osMap": store.os_map(),
            },
            indent=2,
        )
    )


@images_app.command("import")
def images_import(
    disk: Annotated[Path, typer.Argument(help="A disk image (qcow2 or raw), e.g. a cloud image")],
    name: Annotated[str, typer.Option("--name", help="Image name")],
    os_ids: Annotated[
        list[str] | None,
        typer.Option("--os", help="Catalogue OS id that boots it (repeat; '*' for the rest)"),
    ] = None,
    login_user: Annotated[
        str, typer.Option("--login-user", help="User the SSH key is installed for")
    ] = "root",
    cloud_init: Annotated[
        bool,
        typer.Option("--cloud-init/--no-cloud-init", help="Configure it with a NoCloud seed"),
    ] = True,
    storage_dir: StorageDir = None,
) -> None:
    """Import a disk image for one or more OS ids (converted to qcow2)."""
    from aiiro.images.store import ImageError

    store = _store(storage_dir)
    try:
        image = store.import_disk(name, disk, login_user, cloud_init, f"imported from {disk}")
        for os_id in os_ids or []:
            store.map_os(os_id, image.name)
    except (ImageError, OSError) as exc:
        raise _fail(exc) from exc
    typer.echo(f"imported {image.name}; OS map: {json.dumps(store.os_map())}")


@images_app.command("map")
def images_map(
    os_id: Annotated[str, typer.Argument(help="Catalogue OS id, or '*' for every other OS")],
    name: Annotated[str | None, typer.Argument(help="Image name; leave out to unmap")] = None,
    storage_dir: StorageDir = None,
) -> None:
    """Point a catalogue OS id at an image."""
    from aiiro.images.store import ImageError

    store = _store(storage_dir)
    try:
        store.map_os(os_id, name)
    except ImageError as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps(store.os_map()))


@images_app.command("remove")
def images_remove(
    name: str,
    force: Annotated[
        bool, typer.Option("--force", help="Even if instance disks are built on it")
    ] = False,
    storage_dir: StorageDir = None,
) -> None:
    """Remove an image. Instance disks are overlays on their base image, so an image in use
    is kept unless --force (those instances then cannot boot)."""
    from aiiro.images.store import ImageError

    store = _store(storage_dir)
    try:
        removed = store.remove(name, force)
    except ImageError as exc:
        raise _fail(exc) from exc
    if not removed:
        typer.echo(f"no image named {name}", err=True)
        raise typer.Exit(1)
    typer.echo(f"removed {name}")
