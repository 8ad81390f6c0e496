"""The image store and the OS -> image map."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiiro.cli.app import app
from aiiro.images.store import ImageError, ImageStore
from aiiro.images.tiny import _module_order

needs_qemu_img = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="no qemu-img")


def _qcow2(path: Path) -> Path:
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "16M"], check=True)
    return path


def _kernel_image(store: ImageStore, tmp: Path, name: str = "tiny") -> None:
    for f in ("vmlinuz", "initrd.img"):
        (tmp / f).write_bytes(b"x")
    _qcow2(tmp / "disk.qcow2")
    store.add(
        name,
        "kernel",
        {n: tmp / n for n in ("vmlinuz", "initrd.img", "disk.qcow2")},
    )


@needs_qemu_img
def test_add_list_and_map(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    _kernel_image(store, tmp_path)
    (image,) = store.all()
    assert (image.name, image.kind, image.login_user) == ("tiny", "kernel", "root")
    assert image.kernel.exists() and image.initrd.exists() and image.disk.exists()
    # a single image serves every OS until something is mapped
    assert store.image_for(22) == image
    raw = tmp_path / "cloud.raw"
    raw.write_bytes(b"\0" * 1024 * 1024)
    cloud = store.import_disk("debian12", raw, "debian", cloud_init=True)
    assert cloud.kind == "disk" and cloud.cloud_init
    info = json.loads(
        subprocess.run(
            ["qemu-img", "info", "--output=json", str(cloud.disk)], capture_output=True, text=True
        ).stdout
    )
    assert info["format"] == "qcow2"
    assert store.image_for(22) is None  # two images, nothing mapped: no guess
    store.map_os("22", "debian12")
    store.map_os("*", "tiny")
    assert store.image_for(22) == cloud
    assert store.image_for(13) == image
    store.map_os("22", None)
    assert store.image_for(22) == image


def test_bad_names_and_maps_are_refused(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    with pytest.raises(ImageError):
        store.map_os("debian", "tiny")
    with pytest.raises(ImageError):
        store.map_os("22", "missing")
    with pytest.raises(ImageError):
        store.import_disk("../evil", tmp_path, "root")
    assert store.get("../etc") is None


@needs_qemu_img
def test_an_image_in_use_is_kept(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    _kernel_image(store, tmp_path)
    overlay = tmp_path / "instances" / "aiiro-1" / "disk.qcow2"
    overlay.parent.mkdir(parents=True)
    base = store.root / "tiny" / "disk.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(overlay)],
        check=True,
    )
    store.map_os("*", "tiny")
    with pytest.raises(ImageError, match="aiiro-1"):
        store.remove("tiny")
    assert store.remove("tiny", force=True)
    assert store.all() == [] and store.os_map() == {}
    assert not store.remove("tiny")


@needs_qemu_img
def test_cli_list_map_remove(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    _kernel_image(store, tmp_path)
    runner = CliRunner()
    args = ["--storage-dir", str(tmp_path)]
    out = runner.invoke(app, ["images", "map", "22", "tiny", *args])
    assert out.exit_code == 0, out.output
    listed = json.loads(runner.invoke(app, ["images", "list", *args]).output)
    assert [i["name"] for i in listed["images"]] == ["tiny"]
    assert listed["osMap"] == {"22": "tiny"}
    assert runner.invoke(app, ["images", "map", "22", "nope", *args]).exit_code == 1
    assert runner.invoke(app, ["images", "remove", "tiny", *args]).exit_code == 0
    assert runner.invoke(app, ["images", "remove", "tiny", *args]).exit_code == 1


def test_modules_load_after_their_dependencies(tmp_path: Path) -> None:
    (tmp_path / "modules.dep").write_text(
        "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/jbd2/jbd2.ko\n"
        "kernel/lib/crc16.ko:\n"
        "kernel/fs/jbd2/jbd2.ko:\n"
        "kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio.ko\n"
        "kernel/drivers/virtio/virtio.ko:\n"
    )
    (tmp_path / "modules.builtin").write_text("kernel/drivers/tty/serial/8250.ko\n")
    order = _module_order(tmp_path, ["virtio_pci", "ext4", "8250"])
    assert order == [
        "kernel/drivers/virtio/virtio.ko",
        "kernel/drivers/virtio/virtio_pci.ko",
        "kernel/lib/crc16.ko",
        "kernel/fs/jbd2/jbd2.ko",
        "kernel/fs/ext4/ext4.ko",
    ]
    with pytest.raises(ImageError):
        _module_order(tmp_path, ["nonexistent"])
