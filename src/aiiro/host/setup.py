"""`aiiro host setup` and `aiiro host check`: make this machine a compute host for the
libvirt driver, and say whether it is one.

Each requirement is looked at in one place, here; `check` only looks and prints one line per
requirement (ok, or missing and the command that fixes it); `setup` looks, makes what is
missing, and says which it was (`ok` / `done`), so running it twice changes nothing. Neither
relies on systemd or on what a package's post-install script may have left behind.

1. Debian packages: QEMU, libvirt, the tools the driver and the image builder use.
2. Directories libvirt and QEMU write to (DIRECTORIES), before the daemons start.
3. Daemons: virtlogd and libvirtd (systemctl where systemd runs, else `-d` by hand).
4. libvirt answers on the local URI.
5. Storage: <storage>/images and <storage>/instances, searchable by QEMU's user.
6. Networks: one isolated libvirt network per region (host/networks.py).
7. The proof: a throwaway machine starts on each region's network (host/probe.py).
8. An image to install instances from (`aiiro host setup` builds the tiny one; host/cli.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiiro.catalog import load_catalog
from aiiro.compute.libvirt.hosts import local_kvm_usable, parse_uris
from aiiro.config import Settings
from aiiro.host import networks, probe
from aiiro.images.store import ImageStore

PACKAGES = [
    "qemu-system-x86",
    "qemu-utils",
    "libvirt-daemon-system",
    "libvirt-clients",
    "libvirt-daemon-driver-qemu",
    "dnsmasq-base",
    "iptables",
    "nftables",
    "genisoimage",
    "e2fsprogs",
    # the tiny image: kernel unpacking, initramfs, guest userland
    "busybox-static",
    "dropbear-bin",
    "cpio",
    "kmod",
]
DAEMONS = ["virtlogd", "libvirtd"]
CONNECT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Directory:
    path: Path
    mode: int
    why: str


# What libvirt and QEMU write to on a host that runs aiiro's instances. The packages ship
# some, the daemons make most others when they start, but not all, and /run is emptied at
# every boot: each is made here (with the package's mode) before the daemons start.
DIRECTORIES = (
    Directory(
        Path("/var/log/libvirt"),
        0o755,
        "the daemons' logs: libvirtd and virtlogd started by hand exit at once without it",
    ),
    Directory(Path("/var/log/libvirt/qemu"), 0o755, "each machine's QEMU log, written by virtlogd"),
    Directory(
        Path("/var/lib/libvirt/dnsmasq"),
        0o755,
        "each network's MAC map, written when a machine joins it; libvirt makes the directory"
        " only when it starts a dnsmasq, which aiiro's networks (no DHCP, no DNS) never do",
    ),
    Directory(
        Path("/var/lib/libvirt/qemu"),
        0o750,
        "the QEMU driver's state (libvirtd hands it to QEMU's user when it starts)",
    ),
    Directory(Path("/var/cache/libvirt/qemu"), 0o711, "QEMU's capabilities, probed once"),
    Directory(Path("/run/libvirt"), 0o755, "the daemons' sockets and runtime state"),
)

Say = Callable[[str], None]
Status = Literal["ok", "done", "missing"]


@dataclass(frozen=True)
class Finding:
    """One requirement: in place (`ok`), made by setup (`done`), or `missing` with the
    command that fixes it."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.status:<8} {self.name}: {self.detail}"
        return f"{text}; fix: {self.fix}" if self.status == "missing" and self.fix else text


# --- setup -------------------------------------------------------------------------------


def setup(settings: Settings, install: bool = True, say: Say = print) -> list[Finding]:
    """Make what is missing, then prove the host runs a machine; RuntimeError (with the
    reason and the fix) where something cannot be made or the proof fails."""
    findings: list[Finding] = []

    def record(finding: Finding) -> None:
        findings.append(finding)
        say(str(finding))

    for finding in ensure_packages(install):
        record(finding)
    for directory in DIRECTORIES:
        record(ensure_directory(directory))
    for daemon in DAEMONS:
        record(ensure_daemon(daemon))
    uri = local_uri(settings)
    record(wait_for_libvirt(uri))
    record(ensure_storage(Path(settings.libvirt_storage_dir)))
    nets = networks.region_networks(settings, load_catalog(settings.catalog_file).regions)
    for net in nets:
        done = networks.ensure(uri, net)
        record(_network_finding(uri, net, "done" if done else "ok", ", ".join(done) or "ready"))
    for net in nets:
        proof = prove(uri, settings, net)
        if proof.status == "missing":
            raise RuntimeError(f"{proof.name}: {proof.detail}; fix: {proof.fix}")
        record(proof)
    return findings


def ensure_packages(install: bool) -> list[Finding]:
    missing = [p for p in PACKAGES if not _installed(p)]
    if not missing:
        return [Finding("packages", "ok", "all installed")]
    if not install:
        return [_package(p) for p in PACKAGES]
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"no apt-get: install {' '.join(missing)} by hand")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, capture_output=True
    )
    return [Finding("packages", "done", f"installed {' '.join(missing)}")]


def ensure_directory(directory: Directory) -> Finding:
    seen = look_directory(directory)
    if seen.status == "ok":
        return seen
    directory.path.mkdir(parents=True, exist_ok=True)
    directory.path.chmod(directory.mode)
    return Finding(seen.name, "done", f"created: {directory.why}")


def ensure_daemon(name: str) -> Finding:
    seen = look_daemon(name)
    if seen.status == "ok":
        return seen
    if Path("/run/systemd/system").is_dir() and shutil.which("systemctl"):
        subprocess.run(["systemctl", "enable", "--now", name], check=True, capture_output=True)
        return Finding(seen.name, "done", "started with systemctl")
    # No systemd: daemonise by hand (`libvirtd -d -l` fails on such machines; -d works).
    # The daemon keeps our stderr, so it goes to a file, not to a pipe we would wait on.
    with tempfile.TemporaryFile("w+") as err:
        subprocess.run([name, "-d"], stdout=subprocess.DEVNULL, stderr=err, check=False)
        for _ in range(50):
            if _running(name):
                return Finding(seen.name, "done", f"started by hand ({name} -d)")
            time.sleep(0.1)
        err.seek(0)
        why = " ".join(err.read().split())
    raise RuntimeError(f"{name} did not start: {why or 'it printed nothing'}")


def wait_for_libvirt(uri: str) -> Finding:
    """The first connection after a start takes seconds (libvirtd probes QEMU)."""
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        seen = look_libvirt(uri)
        if seen.status == "ok" or time.monotonic() > deadline:
            if seen.status != "ok":
                raise RuntimeError(f"{uri} does not answer: {seen.detail}")
            return seen
        time.sleep(1)


def ensure_storage(root: Path) -> Finding:
    made = []
    for path in _storage_dirs(root):
        if not path.is_dir():
            path.mkdir(parents=True)
            made.append(str(path))
        # QEMU runs as its own user and must reach the disks below.
        path.chmod(0o755)
    if made:
        return Finding("storage", "done", f"created {', '.join(made)}")
    return Finding("storage", "ok", f"{root} ready")


# --- check -------------------------------------------------------------------------------


def check(settings: Settings) -> list[Finding]:
    """Every requirement, looked at without changing anything (the proof's machine is
    transient and destroyed at once)."""
    findings = [_package(p) for p in PACKAGES]
    findings += [look_directory(d) for d in DIRECTORIES]
    findings += [look_daemon(d) for d in DAEMONS]
    uri = local_uri(settings)
    answers = look_libvirt(uri)
    findings.append(answers)
    # The other compute hosts are set up on their own machines: here, only whether they
    # answer (docs/operating-a-host.md, "Several hosts").
    findings += [
        look_libvirt(other, f"host {other}", "aiiro host setup, on that host")
        for other in parse_uris(settings.libvirt_uris)
        if other != uri
    ]
    root = Path(settings.libvirt_storage_dir)
    missing = [str(p) for p in _storage_dirs(root) if not p.is_dir()]
    findings.append(
        Finding("storage", "missing", f"no {', '.join(missing)}", "aiiro host setup")
        if missing
        else Finding("storage", "ok", f"{root} ready")
    )
    for net in networks.region_networks(settings, load_catalog(settings.catalog_file).regions):
        if answers.status != "ok":
            findings.append(
                Finding(
                    f"network {net.name}", "missing", "libvirt does not answer", "aiiro host setup"
                )
            )
            continue
        seen = networks.look(uri, net.name)
        if not seen.ready:
            findings.append(
                _network_finding(uri, net, "missing", ", ".join(seen.lacking), "aiiro host setup")
            )
            continue
        findings.append(_network_finding(uri, net, "ok", "ready"))
        findings.append(prove(uri, settings, net))
    findings.append(look_images(settings))
    return findings


# --- looking ------------------------------------------------------------------------------


def look_directory(directory: Directory) -> Finding:
    name = f"directory {directory.path}"
    if directory.path.is_dir():
        return Finding(name, "ok", "present")
    return Finding(
        name,
        "missing",
        directory.why,
        f"mkdir -p {directory.path} && chmod {directory.mode:o} {directory.path}",
    )


def look_daemon(name: str) -> Finding:
    if _running(name):
        return Finding(name, "ok", "running")
    return Finding(name, "missing", "not running", f"{name} -d (or: aiiro host setup)")


def look_libvirt(uri: str, name: str = "libvirt", fix: str = "aiiro host setup") -> Finding:
    try:
        done = subprocess.run(
            ["virsh", "-c", uri, "version"],
            capture_output=True,
            text=True,
            timeout=CONNECT_TIMEOUT_S,
        )
    except FileNotFoundError:
        return Finding(name, "missing", "no virsh", "aiiro host setup")
    except subprocess.TimeoutExpired:
        return Finding(name, "missing", f"{uri} did not answer in time", fix)
    if done.returncode != 0:
        return Finding(name, "missing", " ".join(done.stderr.split()), fix)
    return Finding(name, "ok", f"{uri} answers")


def look_images(settings: Settings) -> Finding:
    images = ImageStore(Path(settings.libvirt_storage_dir) / "images").all()
    if images:
        return Finding("images", "ok", ", ".join(i.name for i in images))
    return Finding("images", "missing", "none to install instances from", "aiiro images build tiny")


def prove(uri: str, settings: Settings, net: networks.RegionNetwork) -> Finding:
    """Start and destroy a throwaway machine on the region's network."""
    name = probe.probe_name(settings.libvirt_name_prefix)
    kind = settings.libvirt_domain_type
    if kind == "auto":
        kind = "kvm" if local_kvm_usable() else "qemu"
    what = f"machine on {net.name}"
    failure = probe.run_probe(uri, name, kind, net.name)
    if failure is None:
        return Finding(what, "ok", f"a {kind} machine started and was destroyed")
    return Finding(what, "missing", f"did not start: {failure}", probe.fix_for(failure, name))


def local_uri(settings: Settings) -> str:
    for uri in settings.libvirt_uris.replace(",", " ").split():
        if uri.startswith("qemu:///"):
            return uri
    return "qemu:///system"


def _network_finding(
    uri: str, net: networks.RegionNetwork, status: Status, state: str, fix: str = ""
) -> Finding:
    bridge = networks.look(uri, net.name).bridge or net.bridge
    detail = f"{net.region.name}: {net.region.ipv4_pool} on bridge {bridge} ({state})"
    return Finding(f"network {net.name}", status, detail, fix)


def _package(package: str) -> Finding:
    if _installed(package):
        return Finding(f"package {package}", "ok", "installed")
    return Finding(
        f"package {package}", "missing", "not installed", f"apt-get install -y {package}"
    )


def _storage_dirs(root: Path) -> tuple[Path, ...]:
    return (root, root / "images", root / "instances")


def _installed(package: str) -> bool:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
    )
    return done.returncode == 0 and "install ok installed" in done.stdout


def _running(name: str) -> bool:
    """A live process of that name (pgrep also lists zombies: a daemon killed under a
    parent that does not reap it looks alive to pgrep, and nothing would start it)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        comm, _, rest = text.partition(" (")[2].rpartition(")")
        if comm == name and rest.split()[:1] != ["Z"]:
            return True
    return False
