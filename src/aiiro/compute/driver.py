"""The compute driver interface, implemented by `sim` (a model, no VMs) and `libvirt`.

The engine calls a driver from its worker, one operation at a time per instance. Every
call gets an InstanceSpec whose `state` dict is the driver's own durable record for that
instance: the driver changes it in place and the engine stores it in the same transaction
as the lifecycle change, so a crash never leaves the two apart. Calls must be idempotent:
after a crash the engine may repeat the operation that was in flight.

Long actions are split in two: an action that begins the work (`provision`, `stop`) and
`observe`, which the engine polls until the instance reaches the wanted state.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol, runtime_checkable

from aiiro.inputs import Network, decimal

# What a driver sees of an instance's power state.
Observed = Literal[
    "provisioning",  # being installed / downloaded; see `progress`
    "provision_failed",  # e.g. the import URL could not be fetched
    "running",
    "shutoff",
    "absent",  # no such machine (destroyed, or never made)
]


class HostUnreachable(Exception):
    """The compute host of an instance does not answer (its daemon is down, the network
    between is cut, or it did not answer within the driver's time-out). Nothing can be
    known of the machine meanwhile: the instance keeps its last known state, marked as on
    an unreachable host, until the host answers again (domain/reconcile.py)."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"host {host} does not answer: {reason}")
        self.host = host
        self.reason = reason


@dataclass
class FirewallRule:
    direction: Literal["in", "out"]
    protocol: Literal["TCP", "UDP", "ICMP"]
    port: str  # "22", "1000-2000", "All Ports", "" for ICMP
    source: str  # an address, a CIDR, or "0.0.0.0" meaning anywhere


# Reading a rule's port and source as numbers (for the rule engine, domain/firewall_rules.py,
# and for drivers that compile rules):
# - port: "22" -> (22, 22); "1000-2000" -> (1000, 2000); "All Ports" -> (1, 65535);
#   "" (ICMP) -> None.
# - source: an address or CIDR (IPv4 or IPv6); "0.0.0.0", "0.0.0.0/0", "::" and "::/0"
#   mean anywhere, both families. For an outbound rule `source` is the remote end
#   (the destination), as the Indigo panel uses the same field for both directions.
ALL_PORTS = "All Ports"
FULL_RANGE = (1, 65535)
ANYWHERE: tuple[Network, ...] = (
    ipaddress.IPv4Network("0.0.0.0/0"),
    ipaddress.IPv6Network("::/0"),
)


def port_range(port: str, strict: bool = True) -> tuple[int, int] | None:
    """(low, high) inclusive; None for "" (ICMP). Invalid text: ValueError when strict,
    else None."""
    text = port.strip()
    result: tuple[int, int] | None = None
    if text.lower() == ALL_PORTS.lower():
        result = FULL_RANGE
    elif (single := decimal(text)) is not None:
        result = (single, single)
    elif text.count("-") == 1:
        lo, hi = (decimal(part) for part in text.split("-"))
        if lo is not None and hi is not None:
            result = (lo, hi)
    if result is not None and 1 <= result[0] <= result[1] <= 65535:
        return result
    if strict and text != "":
        raise ValueError(f"invalid port {port!r}")
    return None


def networks(source: str) -> tuple[Network, ...]:
    """The networks a source stands for; ValueError if it is none."""
    found = source_networks(source)
    if not found:
        raise ValueError(f"invalid source {source!r}")
    return found


def _source_networks(source: str) -> tuple[Network, ...]:
    """The networks a source stands for; () if it is none."""
    try:
        net = ipaddress.ip_network(source.strip(), strict=False)
    except ValueError:
        return ()
    # 0.0.0.0 (the Indigo panel's "anywhere") and any /0 mean every address.
    if net.prefixlen == 0 or (net.network_address.is_unspecified and net.num_addresses == 1):
        return ANYWHERE
    return (net,)


# Cached by wrapping, not by a decorator: mutmut (`make mutation`) leaves decorated
# functions unmutated, and this one is half of what the firewall admits.
source_networks = lru_cache(maxsize=4096)(_source_networks)


@dataclass
class InstanceSpec:
    id: int
    name: str
    os_id: int
    os_name: str  # catalogue name, e.g. "Debian12"; "ImportVM" for imports
    os_family: Literal["linux", "windows", "import"]
    cpus: int
    memory_mb: int
    disk_gb: int
    region_id: int
    mac: str | None = None
    ipv4: str | None = None
    ipv6: str | None = None
    ssh_public_key: str | None = None
    import_url: str | None = None
    # Set when the instance is created from a snapshot: the snapshot's own driver state.
    source_snapshot: dict[str, Any] | None = None
    # The driver's durable record of this instance (changed in place, stored by the engine).
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class SnapshotSpec:
    id: int
    instance_id: int
    name: str
    # The driver's durable record of this snapshot (changed in place, stored by the engine).
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class Observation:
    power: Observed
    progress: int | None = None  # percent, while provisioning from an import URL
    detail: str = ""


class ConsoleStream(Protocol):
    """An instance's console: text out (boot log, prompts), keystrokes in."""

    def read(self, timeout: float = 0.0) -> bytes:
        """Bytes the console printed since the last read ("" when nothing, after timeout)."""
        ...

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class ComputeDriver(Protocol):
    name: str

    # -- lifecycle -----------------------------------------------------------------------
    def provision(self, spec: InstanceSpec) -> None:
        """Begin making the machine: from the OS image, the import URL or the snapshot in
        `spec.source_snapshot`. Finished when `observe` stops saying "provisioning"; the
        machine is then shut off, as on Indigo."""
        ...

    def start(self, spec: InstanceSpec) -> None: ...

    def stop(self, spec: InstanceSpec) -> None:
        """Ask the guest to shut down (ACPI). Returns at once; `observe` tells when it is
        off. A guest may never comply: only force_stop is certain."""
        ...

    def force_stop(self, spec: InstanceSpec) -> None: ...

    def reset(self, spec: InstanceSpec) -> None: ...

    def destroy(self, spec: InstanceSpec) -> None:
        """Remove the machine, its disks and anything made for it."""
        ...

    def observe(self, spec: InstanceSpec) -> Observation: ...

    # -- snapshots -----------------------------------------------------------------------
    def snapshot(self, spec: InstanceSpec, snap: SnapshotSpec) -> int:
        """Take a snapshot of the disk; returns its size in bytes."""
        ...

    def restore(self, spec: InstanceSpec, snap: SnapshotSpec) -> None:
        """Return the (shut off) instance's disk to the snapshot's state."""
        ...

    def delete_snapshot(self, spec: InstanceSpec, snap: SnapshotSpec) -> None: ...

    # -- network and console ---------------------------------------------------------------
    def apply_firewall(self, spec: InstanceSpec, rules: list[FirewallRule] | None) -> None:
        """Enforce a template's rules (None: no template, nothing filtered). The decision of
        what is admitted comes from aiiro.domain.firewall_rules, the one rule engine."""
        ...

    def console(self, spec: InstanceSpec) -> ConsoleStream: ...


# --- abilities only some drivers have (checked with isinstance, as incus has VM/Container) --
# The sim's guests are models kept in the instance's driver state; what a user would see
# of them over the network or SSH is told from that state. A driver with real machines
# has none of these: the probe then judges by the power state, the file controls refuse.


@runtime_checkable
class GuestProbe(Protocol):
    def guest_detail(self, state: dict[str, Any]) -> str:
        """ "up" (the guest answers), "booting", "grub" (hung at the GRUB prompt), or ""
        (not running), from the instance's driver state."""
        ...

    def applied_rules(self, state: dict[str, Any]) -> list[FirewallRule] | None:
        """The rules the driver was last given for this instance (None: no template)."""
        ...


@runtime_checkable
class GuestFiles(Protocol):
    def write_file(self, state: dict[str, Any], path: str, text: str) -> None:
        """Write a file on the instance's disk (what a user would do over SSH)."""
        ...

    def read_file(self, state: dict[str, Any], path: str) -> str | None: ...


@runtime_checkable
class BootFaults(Protocol):
    def stick_next_boot(self, state: dict[str, Any]) -> None:
        """The next boot hangs at the GRUB prompt (seen after a snapshot restore)."""
        ...
