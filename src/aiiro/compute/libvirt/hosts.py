"""The region's compute hosts: one libvirt connection per URI, opened on first use and kept,
and the choice of the host a new instance goes to."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def parse_uris(text: str) -> list[str]:
    uris = [u for u in re.split(r"[,\s]+", text.strip()) if u]
    if not uris:
        raise ValueError("no libvirt URI configured (AIIRO_LIBVIRT_URIS)")
    return uris


class Hosts:
    def __init__(self, uris: list[str]) -> None:
        import libvirt

        # libvirt prints every error on stderr by default; they reach us as exceptions.
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        self.uris = uris
        self._conns: dict[str, Any] = {}
        self._lock = threading.Lock()

    def conn(self, uri: str) -> Any:
        import libvirt

        with self._lock:
            conn = self._conns.get(uri)
            if conn is not None:
                try:
                    if conn.isAlive():
                        return conn
                except libvirt.libvirtError:
                    pass
                log.warning("reconnecting to %s", uri)
            conn = libvirt.open(uri)
            self._conns[uri] = conn
            return conn

    def capacity(self, uri: str) -> Capacity:
        conn = self.conn(uri)
        info = conn.getInfo()  # [model, memory MiB, cpus, ...]
        committed = sum(d.maxMemory() // 1024 for d in conn.listAllDomains())
        return Capacity(uri, int(info[1]), int(committed), int(info[2]))

    def place(self, memory_mb: int) -> str:
        """The host with the most free memory (host memory less what the machines defined
        there were given, aiiro's or not); a host that cannot be reached is skipped."""
        best: Capacity | None = None
        for uri in self.uris:
            try:
                cap = self.capacity(uri)
            except Exception as exc:
                log.warning("host %s unavailable: %s", uri, exc)
                continue
            if best is None or cap.free_mb > best.free_mb:
                best = cap
        if best is None:
            raise RuntimeError("no compute host can be reached")
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
        with self._lock:
            for conn in self._conns.values():
                with contextlib.suppress(Exception):
                    conn.close()
            self._conns.clear()


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
