"""The region's compute hosts: one libvirt connection per URI, opened on first use and kept,
the choice of the host a new instance goes to, and what is known of a host that stopped
answering.

A host may stop answering at any time (its daemon stopped or hung, the network between cut).
No call may then wait long, nor hold up the calls to the other hosts: each host has its own
lock; a connection is opened in a thread of its own and given up after `timeout_s`; an open
connection has libvirt's keepalive (about 3 x `timeout_s` without an answer closes it,
failing the calls in flight); and a host found silent is not tried again for `timeout_s`,
so calls to it fail at once with HostUnreachable meanwhile. The next call after that tries
again."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiiro.compute.driver import HostUnreachable

if TYPE_CHECKING:
    from aiiro.catalog import Region

log = logging.getLogger("aiiro.libvirt")


@dataclass(frozen=True)
class Capacity:
    uri: str
    memory_mb: int  # the host's memory
    committed_mb: int  # memory of the machines defined there, running or not
    cpus: int

    @property
    def free_mb(self) -> int:
        return self.memory_mb - self.committed_mb


@dataclass
class _Host:
    uri: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    conn: Any = None
    opening: threading.Thread | None = None  # an open that has not returned (yet)
    down_since: float | None = None  # time.time() it was found silent; None: answering
    retry_at: float = 0.0  # time.monotonic() before which it is not tried again
    error: str = ""


@dataclass(frozen=True)
class HostStatus:
    uri: str
    answering: bool
    down_since: float | None
    error: str


def parse_uris(text: str) -> list[str]:
    uris = [u for u in re.split(r"[,\s]+", text.strip()) if u]
    if not uris:
        raise ValueError("no libvirt URI configured (AIIRO_LIBVIRT_URIS)")
    return uris


class Hosts:
    def __init__(self, uris: list[str], timeout_s: float = 5.0) -> None:
        import libvirt

        # libvirt prints every error on stderr by default; they reach us as exceptions.
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        _EventLoop.start()
        self.uris = uris
        self.timeout_s = timeout_s
        self._hosts = {uri: _Host(uri) for uri in uris}
        self._hosts_lock = threading.Lock()

    def _host(self, uri: str) -> _Host:
        # An instance may live on a host since taken out of the list: it is still reached.
        with self._hosts_lock:
            return self._hosts.setdefault(uri, _Host(uri))

    def conn(self, uri: str) -> Any:
        """The open connection to `uri`; HostUnreachable when the host does not answer
        within `timeout_s`, or was found silent less than `timeout_s` ago."""
        host = self._host(uri)
        with host.lock:
            if host.conn is not None:
                if _alive(host.conn):
                    return host.conn
                self._silent(host, "the connection was lost")
                host.retry_at = 0.0  # reconnect at once: the daemon may just have restarted
            if time.monotonic() < host.retry_at:
                raise HostUnreachable(uri, host.error)
            if host.opening is not None and host.opening.is_alive():
                raise HostUnreachable(uri, host.error or "still connecting")
            host.conn = self._open(host)
            if host.down_since is not None:
                log.warning("host %s answers again", uri)
            host.down_since, host.error = None, ""
            return host.conn

    def _open(self, host: _Host) -> Any:
        """libvirt.open in a thread of its own, waited for `timeout_s` (a daemon that
        accepts the connection but never answers would hold the caller for ever). Called
        with host.lock held. An open that succeeds after the caller gave up is kept for
        the next caller (a daemon's first connection can be slow: QEMU is probed)."""
        import libvirt

        result: dict[str, Any] = {}
        handoff = threading.Lock()  # the caller gives up, or the thread answers: one wins

        def attempt() -> None:
            try:
                conn = libvirt.open(host.uri)
            except libvirt.libvirtError as exc:
                result["error"] = exc
                return
            # Calls on a connection whose peer stops answering fail after about
            # 3 x timeout_s (interval x (count + 1)) instead of waiting for ever; a daemon
            # busy for a moment (a machine's first start) is not taken for a dead one.
            with contextlib.suppress(libvirt.libvirtError):  # the test driver has none
                conn.setKeepAlive(max(1, round(self.timeout_s)), 2)
            with handoff:
                if "given_up" not in result:
                    result["conn"] = conn
                    return
            with host.lock:
                if host.conn is None:
                    host.conn = conn
                    host.down_since, host.error, host.retry_at = None, "", 0.0
                    log.warning("host %s answers again", host.uri)
                    return
            with contextlib.suppress(libvirt.libvirtError):
                conn.close()

        host.opening = threading.Thread(
            target=attempt, name=f"libvirt-open {host.uri}", daemon=True
        )
        host.opening.start()
        host.opening.join(self.timeout_s)
        with handoff:
            if "conn" in result:
                return result["conn"]
            result["given_up"] = True
        if "error" in result:
            self._silent(host, str(result["error"]))
            raise HostUnreachable(host.uri, host.error) from result["error"]
        self._silent(host, f"no answer within {self.timeout_s:g} s")
        raise HostUnreachable(host.uri, host.error)

    def _silent(self, host: _Host, reason: str) -> None:
        if host.down_since is None:
            log.warning("host %s does not answer: %s", host.uri, reason)
            host.down_since = time.time()
        if host.conn is not None:
            with contextlib.suppress(Exception):
                host.conn.close()
            host.conn = None
        host.error = reason
        host.retry_at = time.monotonic() + self.timeout_s

    @contextlib.contextmanager
    def answering(self, uri: str) -> Iterator[None]:
        """Calls on `uri`'s connection: a libvirt error that came because the host stopped
        answering (the keepalive closed the connection) is raised as HostUnreachable."""
        import libvirt

        try:
            yield
        except libvirt.libvirtError as exc:
            host = self._host(uri)
            with host.lock:
                if host.conn is None or _alive(host.conn):
                    raise
                self._silent(host, str(exc))
            raise HostUnreachable(uri, str(exc)) from exc

    def status(self) -> list[HostStatus]:
        """What is known of each host, without asking any (a host not yet used answers)."""
        with self._hosts_lock:
            hosts = list(self._hosts.values())
        return [HostStatus(h.uri, h.down_since is None, h.down_since, h.error) for h in hosts]

    def capacity(self, uri: str) -> Capacity:
        conn = self.conn(uri)
        with self.answering(uri):
            info = conn.getInfo()  # [model, memory MiB, cpus, ...]
            committed = sum(d.maxMemory() // 1024 for d in conn.listAllDomains())
        return Capacity(uri, int(info[1]), int(committed), int(info[2]))

    def place(self, memory_mb: int) -> str:
        """The host with the most free memory (host memory less what the machines defined
        there were given, aiiro's or not); a host that does not answer is skipped."""
        best: Capacity | None = None
        for uri in self.uris:
            try:
                cap = self.capacity(uri)
            except Exception as exc:
                log.info("placement: host %s skipped: %s", uri, exc)
                continue
            if best is None or cap.free_mb > best.free_mb:
                best = cap
        if best is None:
            raise HostUnreachable(", ".join(self.uris), "no compute host answers")
        if best.free_mb < memory_mb:
            log.warning(
                "placing %d MiB on %s with %d MiB uncommitted", memory_mb, best.uri, best.free_mb
            )
        return best.uri

    def domain_type(self, uri: str, wanted: str) -> str:
        """kvm or qemu. "auto" takes kvm only where it is really usable: on this host,
        /dev/kvm and a CPU with hardware virtualisation (some sandboxes offer a /dev/kvm
        that cannot run ordinary guests); on another host, what its capabilities say."""
        if wanted != "auto":
            return wanted
        if uri.startswith("test:"):
            return "qemu"
        if _is_local(uri):
            return "kvm" if local_kvm_usable() else "qemu"
        caps = self.conn(uri).getCapabilities()
        return "kvm" if "domain type='kvm'" in caps else "qemu"

    def close(self) -> None:
        with self._hosts_lock:
            hosts = list(self._hosts.values())
        for host in hosts:
            with host.lock:
                if host.conn is not None:
                    with contextlib.suppress(Exception):
                        host.conn.close()
                    host.conn = None


def _alive(conn: Any) -> bool:
    import libvirt

    try:
        return bool(conn.isAlive())
    except libvirt.libvirtError:
        return False


class _EventLoop:
    """libvirt's default event loop, run by one thread per process: keepalive needs it."""

    _lock = threading.Lock()
    _started = False

    @classmethod
    def start(cls) -> None:
        import libvirt

        with cls._lock:
            if cls._started:
                return
            libvirt.virEventRegisterDefaultImpl()
            threading.Thread(target=cls._run, name="libvirt-events", daemon=True).start()
            cls._started = True

    @staticmethod
    def _run() -> None:
        import libvirt

        while True:
            libvirt.virEventRunDefaultImpl()


def _is_local(uri: str) -> bool:
    return re.match(r"^qemu(\+unix)?:///", uri) is not None


def local_kvm_usable() -> bool:
    if not Path("/dev/kvm").exists():
        return False
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return re.search(r"^flags\s*:.*\b(vmx|svm)\b", cpuinfo, re.MULTILINE) is not None


def region_gateway(region: Region) -> ipaddress.IPv4Address:
    """The host's address on the region's network: the catalogue's `gateway`, else the
    pool's first address (aiiro hands out neither)."""
    return region.ipv4_gateway or region.ipv4_pool.network_address + 1
