"""What the end-to-end test of the libvirt driver needs: a compute host set up by
`aiiro host setup` (libvirtd, the region's network, the tiny image), root, and client hosts
made as network namespaces on the region's bridge.

Skipped where the host is not prepared, unless AIIRO_TEST_REQUIRE_LIBVIRT=1 (CI after
scripts/ci-deps-libvirt.sh), where a missing piece is a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

URI = "qemu:///system"
NETWORK = "aiiro-1"
STORAGE = Path(os.environ.get("AIIRO_TEST_LIBVIRT_STORAGE", "/var/lib/aiiro"))
# Names and addresses of this run's own, so that two runs on one host (two checkouts, or
# a developer's and CI's) do not meet.
PREFIX = f"aiiro-e2e{os.getpid()}-"
CLIENT_NET = f"198.19.{200 + os.getpid() % 50}"
REQUIRE = os.environ.get("AIIRO_TEST_REQUIRE_LIBVIRT") == "1"


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, qemu:///system)"
    for tool in ("virsh", "ip", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/ci-deps-libvirt.sh)"
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return "libvirt-python is not installed (pip install -e '.[libvirt]')"
    if subprocess.run(["virsh", "-c", URI, "version"], capture_output=True).returncode != 0:
        return f"{URI} does not answer (aiiro host setup)"
    info = subprocess.run(["virsh", "-c", URI, "net-info", NETWORK], capture_output=True, text=True)
    if "Active:         yes" not in info.stdout:
        return f"network {NETWORK} is not active (aiiro host setup)"
    if not (STORAGE / "images" / "tiny" / "image.json").exists():
        return f"no tiny image in {STORAGE}/images (aiiro images build)"
    return None


@pytest.fixture(scope="session")
def libvirt_host() -> str:
    """The bridge of the region's network, once the host is known to be ready."""
    why = _missing()
    if why is not None:
        if REQUIRE:
            pytest.fail(f"libvirt host not ready: {why}")
        pytest.skip(why)
    info = subprocess.run(
        ["virsh", "-c", URI, "net-info", NETWORK], capture_output=True, text=True, check=True
    ).stdout
    bridge = next(
        line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Bridge")
    )
    return bridge


@pytest.fixture
def e2e_storage(libvirt_host: str) -> Iterator[Path]:
    """A storage directory of this test's own, beside the host's (QEMU's user must reach
    it), whose only image is the host's tiny image for every OS: the test neither sees nor
    changes the host's OS map or instances."""
    root = STORAGE / f"e2e-{os.getpid()}"
    (root / "images").mkdir(parents=True)
    (root / "instances").mkdir()
    (root / "images" / "tiny").symlink_to(STORAGE / "images" / "tiny")
    (root / "images" / "os-map.json").write_text('{"*": "tiny"}\n')
    for path in (root, root / "images", root / "instances"):
        path.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class ClientHost:
    """A network namespace on the region's bridge, standing for a machine on the network."""

    name: str
    address: str
    prefixlen: int
    bridge: str
    _veth: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self._veth = f"ae{os.getpid() % 100000}{self.name[-1]}"[:15]

    def create(self) -> None:
        run = _ip
        run("netns", "add", self.name)
        run("link", "add", self._veth, "type", "veth", "peer", "name", "eth0", "netns", self.name)
        run("link", "set", self._veth, "master", self.bridge, "up")
        self.exec("ip", "addr", "add", f"{self.address}/{self.prefixlen}", "dev", "eth0")
        self.exec("ip", "link", "set", "eth0", "up")
        self.exec("ip", "link", "set", "lo", "up")

    def exec(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a command in the namespace; one that hangs (a guest too busy to finish an
        SSH session) counts as failed rather than ending the test."""
        command = ["ip", "netns", "exec", self.name, *argv]
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(command, 124, "", "timed out (hung)")

    def ssh(
        self, key: Path, target: str, command: str, connect_timeout: int = 5
    ) -> subprocess.CompletedProcess[str]:
        return self.exec(
            "ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", f"ConnectTimeout={connect_timeout}",
            "-o", "LogLevel=ERROR", f"root@{target}", command,
            timeout=connect_timeout + 60,
        )  # fmt: skip

    def remove(self) -> None:
        # Deleting the namespace deletes its end of the veth pair, and with it ours.
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True)
        subprocess.run(["ip", "link", "delete", self._veth], capture_output=True)


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True, text=True)


@pytest.fixture
def client_hosts(libvirt_host: str) -> Iterator[dict[str, ClientHost]]:
    """Two client hosts near the top of the region's pool (198.18.0.0/15): one that the
    firewall template will admit, one it will not. The instance's own address is drawn at
    random from the pool; the test checks it is neither of these."""
    hosts = {
        "admitted": ClientHost(f"{PREFIX}a", f"{CLIENT_NET}.201", 15, libvirt_host),
        "refused": ClientHost(f"{PREFIX}b", f"{CLIENT_NET}.202", 15, libvirt_host),
    }
    try:
        for host in hosts.values():
            host.create()
        yield hosts
    finally:
        for host in hosts.values():
            host.remove()


class SecondHost:
    """A second compute host on this machine: libvirtd and virtlogd of their own, started in
    a mount namespace where /run/libvirt, /var/lib/libvirt, /var/log/libvirt,
    /var/cache/libvirt and /etc/libvirt are directories of this test (so its socket, state,
    definitions and logs are apart from the host's daemon), reached as
    `qemu:///system?socket=<root>/run/libvirt-sock`. Its network `aiiro-1` puts guests on
    the region's bridge, as a second machine bridged to the same segment would."""

    DIRS: ClassVar[dict[str, str]] = {
        "run": "/run/libvirt",
        "lib": "/var/lib/libvirt",
        "log": "/var/log/libvirt",
        "cache": "/var/cache/libvirt",
        "etc": "/etc/libvirt",
    }

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uri = f"qemu:///system?socket={root / 'run' / 'libvirt-sock'}"

    def start(self, bridge: str) -> None:
        for name in self.DIRS:
            (self.root / name).mkdir(parents=True, exist_ok=True)
            (self.root / name).chmod(0o755)
        self.root.chmod(0o755)
        etc = self.root / "etc"
        for conf in Path("/etc/libvirt").glob("*.conf"):
            shutil.copy(conf, etc)
        # The built-in filters (aiiro's refer to them), none of the host daemon's own.
        shutil.copytree(
            "/etc/libvirt/nwfilter",
            etc / "nwfilter",
            ignore=shutil.ignore_patterns("aiiro*"),
            dirs_exist_ok=True,
        )
        binds = "".join(f"mount --bind {self.root / n} {d}\n" for n, d in self.DIRS.items())
        script = self.root / "start.sh"
        script.write_text(
            "set -e\n" + binds + "virtlogd -d -p /run/libvirt/virtlogd.pid\n"
            "libvirtd -d -p /run/libvirt/libvirtd.pid\n"
        )
        subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "bash", str(script)],
            check=True,
            capture_output=True,
            text=True,
        )
        deadline = time.monotonic() + 120
        while self.virsh("version").returncode != 0:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the second libvirtd does not answer: {self.virsh('version')}"
                )
            time.sleep(0.5)
        (self.root / "net.xml").write_text(
            f"<network><name>{NETWORK}</name><forward mode='bridge'/>"
            f"<bridge name='{bridge}'/></network>"
        )
        for argv in (("net-define", str(self.root / "net.xml")), ("net-start", NETWORK)):
            done = self.virsh(*argv)
            assert done.returncode == 0, done.stderr

    def virsh(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["virsh", "-c", self.uri, *argv], capture_output=True, text=True, timeout=60
        )

    def pid(self, daemon: str = "libvirtd") -> int | None:
        try:
            return int((self.root / "run" / f"{daemon}.pid").read_text())
        except (OSError, ValueError):
            return None

    def signal(self, sig: signal.Signals) -> None:
        pid = self.pid()
        assert pid is not None
        os.kill(pid, sig)

    def stop(self) -> None:
        """Resume it if paused, remove this run's machines, end both daemons, and the
        namespace with them."""
        daemons = [p for p in (self.pid("libvirtd"), self.pid("virtlogd")) if p is not None]
        if daemons:
            with contextlib.suppress(ProcessLookupError):
                os.kill(daemons[0], signal.SIGCONT)
            listed = self.virsh("list", "--all", "--name").stdout.split()
            for name in (n for n in listed if n.startswith(PREFIX)):
                self.virsh("destroy", name)
                self.virsh("undefine", "--snapshots-metadata", name)
        for pid in daemons:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in daemons:
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def second_host(libvirt_host: str) -> Iterator[SecondHost]:
    for tool in ("libvirtd", "virtlogd", "unshare"):
        if shutil.which(tool) is None:
            why = f"{tool} is not installed (scripts/ci-deps-libvirt.sh)"
            if REQUIRE:
                pytest.fail(why)
            pytest.skip(why)
    host = SecondHost(Path(f"/tmp/aiiro-e2e-host2-{os.getpid()}"))
    try:
        host.start(libvirt_host)
        yield host
    finally:
        host.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "libvirt: needs a libvirt compute host (real VMs)")
