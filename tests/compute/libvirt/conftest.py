"""Fixtures for the libvirt driver on libvirt's `test:///default` (no daemon, no VMs)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aiiro.compute.driver import InstanceSpec
from aiiro.config import Settings
from aiiro.images.store import Image, ImageStore
from aiiro.runtime import Runtime, build_runtime

TEST_URI = "test:///default"


def make_qcow2(path: Path, size: str = "64M") -> Path:
    if shutil.which("qemu-img") is None:
        pytest.skip("qemu-img is not installed (apt-get install qemu-utils)")
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), size], check=True)
    return path


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    return tmp_path / "storage"


@pytest.fixture
def lv_settings(tmp_path: Path, storage: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        libvirt_uris=TEST_URI,
        libvirt_storage_dir=storage,
        libvirt_memory_scale=0.25,
        secret_key="test-secret",
    )


@pytest.fixture
def lv_rt(lv_settings: Settings) -> Runtime:
    return build_runtime(lv_settings)


@pytest.fixture
def tiny(storage: Path, tmp_path: Path) -> Image:
    """A stand-in for the built tiny image: real qcow2 base, placeholder kernel files."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "vmlinuz").write_bytes(b"kernel")
    (src / "initrd.img").write_bytes(b"initrd")
    make_qcow2(src / "disk.qcow2")
    store = ImageStore(storage / "images")
    image = store.add(
        "tiny",
        "kernel",
        {
            "vmlinuz": src / "vmlinuz",
            "initrd.img": src / "initrd.img",
            "disk.qcow2": src / "disk.qcow2",
        },
    )
    store.map_os("*", "tiny")
    return image


@pytest.fixture
def driver(lv_rt: Runtime) -> Iterator[Any]:
    libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
    from aiiro.compute.libvirt import LibvirtDriver

    drv = LibvirtDriver(lv_rt)
    yield drv
    # test:///default is shared by the whole process: leave no domain behind.
    conn = drv.hosts.conn(TEST_URI)
    for dom in conn.listAllDomains():
        if dom.name().startswith("aiiro-"):
            if dom.isActive():
                dom.destroy()
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
    drv.hosts.close()


_next_id = iter(range(5000, 100000))


@pytest.fixture
def make_spec() -> Any:
    def make(**kw: Any) -> InstanceSpec:
        ident = next(_next_id)
        defaults: dict[str, Any] = dict(
            id=ident,
            name=f"web{ident}",
            os_id=22,
            os_name="Debian12",
            os_family="linux",
            cpus=1,
            memory_mb=1024,
            disk_gb=20,
            region_id=1,
            mac="00:13:5D:13:69:8A",
            ipv4="198.18.0.10",
            ssh_public_key="ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 user@host",
        )
        defaults.update(kw)
        return InstanceSpec(**defaults)

    return make
