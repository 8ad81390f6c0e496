"""`aiiro images build debian12`: Debian 12 with cloud-init, made with debootstrap.

A minimal Debian (systemd, OpenSSH, cloud-init, ifupdown, the Debian kernel) in an ext4
disk. It is booted directly with its own kernel and initramfs (no boot loader to install)
and configured by the driver's NoCloud seed like any cloud image: the address, the
hostname, the key for the user `debian` (sudo), and a power-off when the first boot is
done. Building needs the Debian archive (apt's mirror) and about 2 GB of temporary space.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from aiiro.images.store import Image, ImageError, ImageStore
from aiiro.images.tiny import Log

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = [
    "systemd-sysv",
    "udev",
    # systemd-logind (which needs D-Bus) turns the ACPI power button into a shutdown
    "dbus",
    "openssh-server",
    "cloud-init",
    "ifupdown",
    "iproute2",
    "netbase",
    "sudo",
    "linux-image-amd64",
    "initramfs-tools",
    "e2fsprogs",
]
DISK_MB = 3072
CMDLINE = "root=/dev/vda rw net.ifnames=0"

CLOUD_CFG = """# aiiro: the seed is a NoCloud ISO (label cidata); nothing else to look for.
datasource_list: [ NoCloud, None ]
"""


def build_debian(
    store: ImageStore, name: str = "debian12", mirror: str = MIRROR, log: Log = print
) -> Image:
    for tool in ("debootstrap", "mkfs.ext4", "qemu-img"):
        if shutil.which(tool) is None:
            raise ImageError(f"{tool} is missing: apt-get install debootstrap e2fsprogs qemu-utils")
    with tempfile.TemporaryDirectory(prefix="aiiro-debian-") as tmp:
        work = Path(tmp)
        root = work / "rootfs"
        log(f"debootstrap {SUITE} from {mirror} (a few minutes)")
        _run(["debootstrap", "--variant=minbase", SUITE, str(root), mirror])
        # The rest through apt inside the chroot: debootstrap's own resolver does not
        # follow virtual packages (cloud-init's Python dependencies need that).
        log(f"installing {' '.join(PACKAGES)}")
        _chroot_install(root, PACKAGES)
        log("configuring for cloud-init")
        _configure(root)
        kernels = sorted((root / "boot").glob("vmlinuz-*"))
        initrds = sorted((root / "boot").glob("initrd.img-*"))
        if not kernels or not initrds:
            raise ImageError("the chroot has no kernel or initramfs")
        log("making the disk")
        raw = work / "disk.raw"
        subprocess.run(
            ["mkfs.ext4", "-q", "-F", "-L", "root", "-d", str(root), str(raw), f"{DISK_MB}M"],
            check=True,
            capture_output=True,
        )
        disk = work / "disk.qcow2"
        subprocess.run(
            ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(disk)], check=True
        )
        raw.unlink()
        image = store.add(
            name,
            "kernel",
            {"vmlinuz": kernels[-1], "initrd.img": initrds[-1], "disk.qcow2": disk},
            login_user="debian",
            cloud_init=True,
            description=f"Debian 12 ({kernels[-1].name}), cloud-init, debootstrap",
            cmdline=CMDLINE,
        )
    log(f"image {image.name} ready in {image.path}")
    return image


def _run(argv: list[str], **kw: Any) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, **kw)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise ImageError(f"{' '.join(argv[:2])} failed:\n{tail}")


def _chroot_install(root: Path, packages: list[str]) -> None:
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\n# no services start inside the image build\nexit 101\n")
    policy.chmod(0o755)
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    try:
        _run(
            [
                "chroot",
                str(root),
                "apt-get",
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                *packages,
            ],
            env=env,
        )
    finally:
        subprocess.run(["umount", str(root / "proc")], check=False)
        policy.unlink(missing_ok=True)


def _configure(root: Path) -> None:
    (root / "etc/fstab").write_text("/dev/vda / ext4 defaults,errors=remount-ro 0 1\n")
    (root / "etc/cloud/cloud.cfg.d/90-aiiro.cfg").write_text(CLOUD_CFG)
    (root / "etc/hostname").write_text("localhost\n")
    # Each instance gets its own machine id and SSH host keys at its first boot.
    (root / "etc/machine-id").write_text("")
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    subprocess.run(["chroot", str(root), "apt-get", "clean"], check=False, capture_output=True)
