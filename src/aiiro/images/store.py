"""The host's image store: base images the libvirt driver builds instance disks on, and the
map from catalogue OS ids to those images.

Layout under <libvirt_storage_dir>/images:

    <name>/image.json   what the image is (kind, login user, cloud-init or not)
    <name>/disk.qcow2   the base disk every instance of this image gets an overlay on
    <name>/vmlinuz, <name>/initrd.img   kind "kernel" only: booted directly, with the
                                        address and SSH key on the kernel command line
    os-map.json         {"22": "debian12", "*": "tiny"}: OS id -> image ("*" = the rest)
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

ImageKind = Literal["kernel", "disk"]
OS_MAP = "os-map.json"
ANY_OS = "*"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


class ImageError(Exception):
    pass


@dataclass(frozen=True)
class Image:
    name: str
    kind: ImageKind
    # The user the registered SSH key is installed for.
    login_user: str
    # Takes its address and key from a cloud-init NoCloud seed (kind "disk").
    cloud_init: bool
    description: str
    path: Path
    # Kind "kernel": what the kernel command line starts with (e.g. "root=/dev/vda rw");
    # the driver adds the console, the address and, for the tiny image, the key.
    cmdline: str = ""

    @property
    def disk(self) -> Path:
        return self.path / "disk.qcow2"

    @property
    def kernel(self) -> Path:
        return self.path / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.path / "initrd.img"

    def meta(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("path")
        return data


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    # --- reading ------------------------------------------------------------------------
    def all(self) -> list[Image]:
        if not self.root.is_dir():
            return []
        found = (self._load(p) for p in sorted(self.root.iterdir()) if p.is_dir())
        return [i for i in found if i is not None]

    def get(self, name: str) -> Image | None:
        return self._load(self.root / name) if _NAME.match(name) else None

    def os_map(self) -> dict[str, str]:
        path = self.root / OS_MAP
        if not path.exists():
            return {}
        data = json.loads(path.read_text())
        return {str(k): str(v) for k, v in data.items()}

    def image_for(self, os_id: int) -> Image | None:
        """The image for a catalogue OS: its own mapping, else the "*" mapping, else the
        only image there is."""
        mapping = self.os_map()
        name = mapping.get(str(os_id)) or mapping.get(ANY_OS)
        if name is not None:
            return self.get(name)
        images = self.all()
        return images[0] if len(images) == 1 else None

    # --- changing -----------------------------------------------------------------------
    def add(
        self,
        name: str,
        kind: ImageKind,
        files: dict[str, Path],
        login_user: str = "root",
        cloud_init: bool = False,
        description: str = "",
        cmdline: str = "",
    ) -> Image:
        """Install an image from files (disk.qcow2 and, for kind "kernel", vmlinuz and
        initrd.img), replacing one of the same name."""
        check_name(name)
        wanted = {"disk.qcow2", "vmlinuz", "initrd.img"} if kind == "kernel" else {"disk.qcow2"}
        if set(files) != wanted:
            raise ImageError(f"an image of kind {kind} needs exactly {sorted(wanted)}")
        staging = self.root / f".{name}.new"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for target, source in files.items():
            shutil.copyfile(source, staging / target)
        image = Image(name, kind, login_user, cloud_init, description, self.root / name, cmdline)
        (staging / "image.json").write_text(json.dumps(image.meta(), indent=2) + "\n")
        _make_readable(staging)
        old = self.root / f".{name}.old"
        shutil.rmtree(old, ignore_errors=True)
        if image.path.exists():
            image.path.rename(old)
        staging.rename(image.path)
        shutil.rmtree(old, ignore_errors=True)
        _make_readable(self.root)
        return image

    def import_disk(
        self, name: str, disk: Path, login_user: str, cloud_init: bool = True, description: str = ""
    ) -> Image:
        """Import a disk image (qcow2 or raw; converted to qcow2)."""
        if not disk.is_file():
            raise ImageError(f"no such file: {disk}")
        check_name(name)
        self.root.mkdir(parents=True, exist_ok=True)
        converted = self.root / f".{name}.qcow2"
        to_qcow2(disk, converted)
        try:
            return self.add(
                name, "disk", {"disk.qcow2": converted}, login_user, cloud_init, description
            )
        finally:
            converted.unlink(missing_ok=True)

    def remove(self, name: str, force: bool = False) -> bool:
        image = self.get(name)
        if image is None:
            return False
        users = self.users(name)
        if users and not force:
            raise ImageError(f"instance disks are built on {name}: {', '.join(users)}")
        shutil.rmtree(image.path)
        mapping = {k: v for k, v in self.os_map().items() if v != name}
        self._write_map(mapping)
        return True

    def users(self, name: str) -> list[str]:
        """Instance directories (next to this store) whose disk is an overlay on `name`."""
        instances = self.root.parent / "instances"
        base = str(self.root / name / "disk.qcow2")
        found = []
        for disk in sorted(instances.glob("*/disk.qcow2")) if instances.is_dir() else []:
            out = subprocess.run(
                ["qemu-img", "info", "-U", "--output=json", str(disk)],
                capture_output=True,
                text=True,
            )
            if out.returncode == 0 and json.loads(out.stdout).get("backing-filename") == base:
                found.append(disk.parent.name)
        return found

    def map_os(self, os_key: str, name: str | None) -> None:
        """Point an OS id (or "*") at an image; None removes the mapping."""
        if os_key != ANY_OS and not os_key.isdigit():
            raise ImageError(f"an OS id is a number or {ANY_OS!r}, not {os_key!r}")
        if name is not None and self.get(name) is None:
            raise ImageError(f"no image named {name!r}")
        mapping = self.os_map()
        if name is None:
            mapping.pop(os_key, None)
        else:
            mapping[os_key] = name
        self._write_map(mapping)

    # --- internals ----------------------------------------------------------------------
    def _write_map(self, mapping: dict[str, str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{OS_MAP}.new"
        tmp.write_text(json.dumps(mapping, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.root / OS_MAP)

    def _load(self, path: Path) -> Image | None:
        meta = path / "image.json"
        if path.name.startswith(".") or not meta.is_file():
            return None
        data = json.loads(meta.read_text())
        return Image(
            name=data["name"],
            kind=data["kind"],
            login_user=data.get("login_user", "root"),
            cloud_init=bool(data.get("cloud_init", False)),
            cmdline=data.get("cmdline", ""),
            description=data.get("description", ""),
            path=path,
        )


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ImageError(f"bad image name {name!r}: use a-z, 0-9, '.', '_', '-'")


def to_qcow2(source: Path, target: Path, fmt: str | None = None) -> None:
    """Copy a disk image as qcow2 (from `fmt`, else whatever format it is in)."""
    fmt = fmt or disk_format(source)
    subprocess.run(
        ["qemu-img", "convert", "-f", fmt, "-O", "qcow2", str(source), str(target)],
        check=True,
        capture_output=True,
    )


def disk_format(path: Path) -> str:
    out = subprocess.run(
        ["qemu-img", "info", "--output=json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fmt = json.loads(out)["format"]
    if fmt not in ("qcow2", "raw", "vmdk", "vdi", "vpc", "vhdx"):
        raise ImageError(f"{path}: unsupported disk format {fmt}")
    return str(fmt)


def _make_readable(path: Path) -> None:
    # QEMU runs as its own user (libvirt-qemu on Debian): base images must be readable
    # and their directories searchable by it.
    path.chmod(0o755)
    for child in path.iterdir():
        child.chmod(0o755 if child.is_dir() else 0o644)
