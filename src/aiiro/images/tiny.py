"""`aiiro images build tiny`: a small bootable image made from Debian packages only.

The Debian kernel (fetched with `apt-get download`) boots directly into an initramfs that
holds busybox-static, dropbear and the few kernel modules a virtio guest needs. The
instance's qcow2 disk is an ext4 file system mounted on /root: it keeps root's files, the
authorized key and the SSH host key, so snapshots and restores act on real data.

The guest takes everything it must know from the kernel command line, which the driver
writes into the domain:

    aiiro.ip=198.18.0.5/15 aiiro.gw=198.18.0.1 aiiro.hostname=web1
    aiiro.sshkey=ssh-rsa,AAAA...     (spaces become commas; first boot only)
    aiiro.firstboot=1                (install the key, then power off: "OS installation")

It honours ACPI power-button events (busybox acpid), so a graceful stop works.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from aiiro.images.store import Image, ImageError, ImageStore

# Loaded in this order (dependencies first; see _module_order).
MODULES = [
    "virtio_pci",
    "virtio_blk",
    "virtio_net",
    "virtio_rng",
    "crc32c_generic",
    "ext4",
    "button",
    "evdev",
]
DISK_MB = 1024
BUSYBOX = Path("/bin/busybox")
DROPBEAR = [Path("/usr/sbin/dropbear"), Path("/usr/bin/dropbearkey")]

INIT = """#!/bin/sh
# PID 1 of the guest, hands over to busybox init (inittab) once the basics are mounted.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
exec /sbin/init
"""

INITTAB = """::sysinit:/etc/rcS
ttyS0::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/rc.shutdown
"""

RCS = """#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1="*) echo "${w#*=}";; esac; done; }
for m in $(cat /etc/modules.order); do insmod "/lib/modules/$m" 2>/dev/null; done
hostname "$(arg aiiro.hostname)"

# The instance's disk holds root's home: the key, the SSH host key, the user's files.
i=0; while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
mount -t ext4 /dev/vda /root || echo "aiiro: cannot mount /dev/vda"
mkdir -p /root/.ssh /root/.dropbear
chmod 700 /root/.ssh
key="$(arg aiiro.sshkey | tr ',' ' ')"
if [ "$(arg aiiro.firstboot)" = 1 ] && [ -n "$key" ]; then
  echo "$key" > /root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi

ip link set lo up
ip link set eth0 up
addr="$(arg aiiro.ip)"; [ -n "$addr" ] && ip addr add "$addr" dev eth0
gw="$(arg aiiro.gw)"; [ -n "$gw" ] && ip route add default via "$gw"

[ -f /root/.dropbear/ed25519 ] || dropbearkey -t ed25519 -f /root/.dropbear/ed25519 >/dev/null
dropbear -s -r /root/.dropbear/ed25519 -p 22
acpid
sync
echo "aiiro: guest ready at ${addr%/*}"
if [ "$(arg aiiro.firstboot)" = 1 ]; then
  echo "aiiro: first boot done, powering off"
  (sleep 1; poweroff) &
fi
"""

RC_SHUTDOWN = """#!/bin/sh
killall dropbear acpid 2>/dev/null
sync
umount /root 2>/dev/null || mount -o remount,ro /root
"""

POWER_BUTTON = """#!/bin/sh
poweroff
"""

Log = Callable[[str], None]


def build_tiny(
    store: ImageStore,
    name: str = "tiny",
    kernel_deb: Path | None = None,
    log: Log = print,
) -> Image:
    for tool in ("cpio", "mkfs.ext4", "qemu-img", "dpkg-deb", "depmod"):
        if shutil.which(tool) is None:
            raise ImageError(f"{tool} is missing (run `aiiro host setup`)")
    for path in [BUSYBOX, *DROPBEAR]:
        if not path.exists():
            raise ImageError(f"{path} is missing: apt-get install busybox-static dropbear-bin")
    with tempfile.TemporaryDirectory(prefix="aiiro-image-") as tmp:
        work = Path(tmp)
        deb = kernel_deb or fetch_kernel_deb(store.root / ".cache", log)
        log(f"unpacking {deb.name}")
        kroot = work / "kernel"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(kroot)], check=True)
        version = _kernel_version(kroot)
        subprocess.run(["depmod", "-b", str(kroot), version], check=True)
        log(f"kernel {version}: building the initramfs")
        rootfs = work / "rootfs"
        _make_rootfs(rootfs, kroot, version)
        initrd = work / "initrd.img"
        _pack_cpio(rootfs, initrd)
        log("making the base disk (ext4, root's home)")
        disk = work / "disk.qcow2"
        _make_disk(work, disk)
        image = store.add(
            name,
            "kernel",
            {
                "vmlinuz": kroot / "boot" / f"vmlinuz-{version}",
                "initrd.img": initrd,
                "disk.qcow2": disk,
            },
            login_user="root",
            cloud_init=False,
            description=f"Debian kernel {version} + busybox + dropbear (kernel command line)",
        )
    log(f"image {image.name} ready in {image.path}")
    return image


def fetch_kernel_deb(cache: Path, log: Log) -> Path:
    """The newest Debian kernel package (linux-image-amd64's dependency), downloaded once."""
    cache.mkdir(parents=True, exist_ok=True)
    deps = subprocess.run(
        ["apt-cache", "depends", "linux-image-amd64"], check=True, capture_output=True, text=True
    ).stdout
    match = re.search(r"Depends:\s*(linux-image-\S+)", deps)
    if match is None:
        raise ImageError("apt does not know linux-image-amd64 (run apt-get update)")
    package = match.group(1)
    found = sorted(cache.glob(f"{package}_*.deb"))
    if found:
        return found[-1]
    log(f"downloading {package} with apt-get")
    # apt's sandbox user must be able to write the cache directory.
    os.chmod(cache, 0o777)
    subprocess.run(["apt-get", "download", "-q", package], cwd=cache, check=True)
    found = sorted(cache.glob(f"{package}_*.deb"))
    if not found:
        raise ImageError(f"apt-get download {package} left no .deb")
    return found[-1]


def _kernel_version(kroot: Path) -> str:
    versions = sorted(p.name for p in (kroot / "lib" / "modules").iterdir())
    if len(versions) != 1:
        raise ImageError(f"expected one kernel in the package, found {versions}")
    return versions[0]


def _module_order(moddir: Path, wanted: list[str]) -> list[str]:
    """Module files (relative to moddir) in load order: each after its dependencies."""
    deps: dict[str, list[str]] = {}
    by_name: dict[str, str] = {}
    for line in (moddir / "modules.dep").read_text().splitlines():
        path, _, rest = line.partition(":")
        deps[path] = rest.split()
        by_name[Path(path).name.split(".")[0].replace("-", "_")] = path
    builtin = {
        Path(p).name.split(".")[0].replace("-", "_")
        for p in (moddir / "modules.builtin").read_text().split()
    }
    order: list[str] = []

    def visit(path: str) -> None:
        if path in order:
            return
        for dep in deps.get(path, []):
            visit(dep)
        order.append(path)

    for name in wanted:
        if name in by_name:
            visit(by_name[name])
        elif name not in builtin:
            raise ImageError(f"kernel module {name} is neither a module nor built in")
    return order


def _make_rootfs(rootfs: Path, kroot: Path, version: str) -> None:
    for d in ["bin", "sbin", "usr/bin", "usr/sbin", "etc/acpi/PWRF", "proc", "sys", "dev",
              "root", "tmp", "var/run", "var/log", "lib/modules", "lib64"]:  # fmt: skip
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, rootfs / "bin/busybox")
    applets = subprocess.run(
        [str(BUSYBOX), "--list-full"], check=True, capture_output=True, text=True
    ).stdout.split()
    for applet in applets:
        link = rootfs / applet
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to("/bin/busybox")
    for binary in DROPBEAR:
        target = rootfs / binary.relative_to("/")
        target.unlink(missing_ok=True)
        shutil.copy2(binary, target)
        for lib in _shared_libraries(binary):
            dest = rootfs / lib.relative_to("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(lib, dest)
    moddir = kroot / "lib" / "modules" / version
    order = _module_order(moddir, MODULES)
    for rel in order:
        dest = rootfs / "lib" / "modules" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(moddir / rel, dest)
    files = {
        "init": (INIT, 0o755),
        "etc/inittab": (INITTAB, 0o644),
        "etc/rcS": (RCS, 0o755),
        "etc/rc.shutdown": (RC_SHUTDOWN, 0o755),
        "etc/acpi/PWRF/00000080": (POWER_BUTTON, 0o755),
        "etc/modules.order": ("\n".join(order) + "\n", 0o644),
        "etc/passwd": ("root:x:0:0:root:/root:/bin/sh\n", 0o644),
        "etc/group": ("root:x:0:\n", 0o644),
        "etc/shells": ("/bin/sh\n", 0o644),
        "etc/profile": ("export PATH=/sbin:/bin:/usr/sbin:/usr/bin\ncd /root\n", 0o644),
    }
    for rel, (text, mode) in files.items():
        path = rootfs / rel
        path.write_text(text)
        path.chmod(mode)


def _shared_libraries(binary: Path) -> list[Path]:
    out = subprocess.run(["ldd", str(binary)], check=True, capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        match = re.search(r"(/\S+)\s+\(0x", line)
        if match:
            libs.append(Path(match.group(1)))
    return libs


def _pack_cpio(rootfs: Path, target: Path) -> None:
    names = subprocess.run(["find", "."], cwd=rootfs, check=True, capture_output=True).stdout
    archive = subprocess.run(
        ["cpio", "--quiet", "-o", "-H", "newc"],
        cwd=rootfs,
        input=names,
        check=True,
        capture_output=True,
    ).stdout
    target.write_bytes(gzip.compress(archive, compresslevel=6))


def _make_disk(work: Path, target: Path) -> None:
    skel = work / "home"
    (skel / ".ssh").mkdir(parents=True)
    (skel / ".ssh").chmod(0o700)
    raw = work / "disk.raw"
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-L", "aiiro-root", "-d", str(skel), str(raw), f"{DISK_MB}M"],
        check=True,
    )
    subprocess.run(
        ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(target)], check=True
    )
