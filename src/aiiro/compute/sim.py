"""The `sim` compute driver: no virtual machines, a model of one.

Everything the sim knows about an instance lives in the instance's driver state (a JSON
dict the engine stores with each lifecycle change), so it survives restarts and crashes
like the rest of aiiro's state:

    power        absent | provisioning | provision_failed | shutoff | running
    task         the installation under way: {"kind": "install"|"import", "started", "url"}
    boot         the current boot: {"started", "grub"}; the guest answers once it is over
    stopping     a requested ACPI shutdown: {"requested"}
    grub_next    the next boot hangs at the GRUB prompt (a restore fault); only a
                 forcestop gets the machine out of it, the start after that boots normally
    disk         {"generation": n, "files": {path: text}}: what snapshot copies and
                 restore puts back
    firewall     the rules last given to apply_firewall, or None (no template)
    console      {"seq": n, "lines": [[seq, t, text], ...]}: serial console output; a line
                 with a time in the future is printed when the server clock gets there
    boots        how many times the machine has booted

Durations come from the timing profile in force when a step is checked
(aiiro.timing), on the server clock, so tests move time instead of waiting.
"""

from __future__ import annotations

import copy
import json
import math
import threading
import time
from dataclasses import asdict
from typing import Any

from aiiro.compute import import_url
from aiiro.compute.driver import (
    ConsoleStream,
    FirewallRule,
    InstanceSpec,
    Observation,
    Observed,
    SnapshotSpec,
)
from aiiro.config import Settings
from aiiro.runtime import Runtime
from aiiro.store.models import Instance

# Sizes reported for snapshots: an installed OS (observed: ~1 GB for a small Linux), plus
# whatever was written on the disk, in 4 KiB blocks.
BASE_DISK_BYTES = {"linux": 1_071_529_984, "windows": 9_663_676_416, "import": 536_870_912}
BLOCK = 4096
CONSOLE_KEEP = 400  # lines kept per instance
KERNEL_BOOT_S = 8.0  # what the kernel timestamps in the boot log add up to
# Names reserved for documentation (RFC 2606), with their subdomains; "*.example" too.
DOCUMENTATION_DOMAINS = ("example.com", "example.net", "example.org")


class SimDriver:
    name = "sim"

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    # -- lifecycle ---------------------------------------------------------------------
    def provision(self, spec: InstanceSpec) -> None:
        st = spec.state
        if st.get("power", "absent") != "absent":
            return  # already begun (a repeat after a crash)
        now = self._now()
        kind = "import" if spec.os_family == "import" else "install"
        st["power"] = "provisioning"
        st["task"] = {"kind": kind, "started": now, "url": spec.import_url}
        if kind == "import":
            # Decided once, here (the engine's worker thread, where a name lookup may
            # block), and kept: the outcome does not change with the network afterwards.
            st["task"]["refused"] = import_refusal(spec.import_url, self.rt.settings)
        st["boots"] = 0
        st["grub_next"] = False
        st["firewall"] = None
        if spec.source_snapshot and "disk" in spec.source_snapshot:
            st["disk"] = copy.deepcopy(spec.source_snapshot["disk"])
        else:
            st["disk"] = {"generation": 0, "files": _initial_files(self.rt, spec)}
        if kind == "import":
            _say(st, now, f"Downloading disk image from {spec.import_url}")
        else:
            _say(st, now, f"Installing {_banner(self.rt, spec)} on {spec.name}...")

    def start(self, spec: InstanceSpec) -> None:
        st = spec.state
        if st.get("power") != "shutoff":
            return
        st["power"] = "running"
        self._boot(spec)

    def stop(self, spec: InstanceSpec) -> None:
        st = spec.state
        if st.get("power") == "running" and "stopping" not in st:
            st["stopping"] = {"requested": self._now()}

    def force_stop(self, spec: InstanceSpec) -> None:
        st = spec.state
        if st.get("power") != "running":
            return
        now = self._now()
        _forget_future(st, now)
        if st.get("boot", {}).get("grub"):
            st["grub_next"] = False  # the cure: the next start boots normally
        st["power"] = "shutoff"
        st.pop("boot", None)
        st.pop("stopping", None)

    def reset(self, spec: InstanceSpec) -> None:
        st = spec.state
        if st.get("power") != "running":
            return
        _forget_future(st, self._now())
        st.pop("stopping", None)
        self._boot(spec)

    def destroy(self, spec: InstanceSpec) -> None:
        st = spec.state
        _forget_future(st, self._now())
        for key in ("task", "boot", "stopping"):
            st.pop(key, None)
        st["power"] = "absent"
        st["disk"] = {"generation": 0, "files": {}}

    def observe(self, spec: InstanceSpec) -> Observation:
        st = spec.state
        now = self._now()
        t = self.rt.timings
        power: Observed = st.get("power", "absent")
        if power == "provisioning":
            return self._installing(spec, now)
        if power == "running" and "stopping" in st and not st.get("boot", {}).get("grub"):
            done_at = st["stopping"]["requested"] + t.stop_s
            if now >= done_at:
                _shutdown_lines(st, done_at)
                st["power"] = "shutoff"
                st.pop("stopping", None)
                st.pop("boot", None)
                return Observation("shutoff")
        if st.get("power") == "running":
            return Observation("running", detail=guest_detail(self.rt, st))
        return Observation(st.get("power", "absent"))

    # -- snapshots ---------------------------------------------------------------------
    def snapshot(self, spec: InstanceSpec, snap: SnapshotSpec) -> int:
        disk = spec.state.get("disk") or {"generation": 0, "files": {}}
        snap.state["disk"] = copy.deepcopy(disk)
        snap.state["os_family"] = spec.os_family
        return disk_bytes(disk, spec.os_family)

    def restore(self, spec: InstanceSpec, snap: SnapshotSpec) -> None:
        if "disk" not in snap.state:
            raise ValueError(f"snapshot {snap.id} holds no disk")
        disk = copy.deepcopy(snap.state["disk"])
        disk["generation"] = spec.state.get("disk", {}).get("generation", 0) + 1
        spec.state["disk"] = disk

    def delete_snapshot(self, spec: InstanceSpec, snap: SnapshotSpec) -> None:
        snap.state.pop("disk", None)

    # -- network and console -------------------------------------------------------------
    def apply_firewall(self, spec: InstanceSpec, rules: list[FirewallRule] | None) -> None:
        spec.state["firewall"] = None if rules is None else [asdict(r) for r in rules]

    def console(self, spec: InstanceSpec) -> ConsoleStream:
        return SimConsole(self.rt, spec.id, spec.name)

    # -- abilities of a model guest (compute/driver.py: GuestProbe, GuestFiles, BootFaults)
    def guest_detail(self, state: dict[str, Any]) -> str:
        return guest_detail(self.rt, state)

    def applied_rules(self, state: dict[str, Any]) -> list[FirewallRule] | None:
        applied = state.get("firewall")
        return None if applied is None else [FirewallRule(**r) for r in applied]

    def write_file(self, state: dict[str, Any], path: str, text: str) -> None:
        disk = state.setdefault("disk", {"generation": 0, "files": {}})
        disk["files"][path] = text
        disk["generation"] = disk.get("generation", 0) + 1

    def read_file(self, state: dict[str, Any], path: str) -> str | None:
        files: dict[str, str] = state.get("disk", {}).get("files", {})
        return files.get(path)

    def stick_next_boot(self, state: dict[str, Any]) -> None:
        state["grub_next"] = True

    # -- internals --------------------------------------------------------------------------
    def _now(self) -> float:
        return self.rt.clock.time()

    def _installing(self, spec: InstanceSpec, now: float) -> Observation:
        st = spec.state
        t = self.rt.timings
        task = st["task"]
        is_import = task["kind"] == "import"
        duration = t.import_s if is_import else t.install_s
        elapsed = now - task["started"]
        if is_import and task.get("refused"):
            step_s = duration * t.import_step_pct / 100
            if elapsed >= step_s:
                _say(st, task["started"] + step_s, "Disk image download failed: bad URL")
                st["power"] = "provision_failed"
                # The reason is the operator's (the failed operation); the tenant sees
                # "The URL entered is invalid." (domain/lifecycle.py).
                return Observation("provision_failed", detail=task["refused"])
            return Observation("provisioning", progress=0)
        if elapsed < duration:
            progress = int(100 * elapsed / duration) if duration > 0 else 100
            return Observation("provisioning", progress=progress if is_import else None)
        # Installed. Indigo boots the new machine once and shuts it down again.
        end = task["started"] + duration
        st.pop("task", None)
        st["power"] = "shutoff"
        st["boots"] = st.get("boots", 0) + 1
        for offset, line in _boot_lines(self.rt, spec, grub=False):
            _say(st, end - t.boot_s * (1 - offset) if duration else end, line)
        _shutdown_lines(st, end)
        return Observation("shutoff", progress=100 if is_import else None)

    def _boot(self, spec: InstanceSpec) -> None:
        st = spec.state
        now = self._now()
        t = self.rt.timings
        grub = bool(st.get("grub_next"))
        st["boot"] = {"started": now, "grub": grub}
        st["boots"] = st.get("boots", 0) + 1
        for offset, line in _boot_lines(self.rt, spec, grub=grub):
            _say(st, now + t.boot_s * offset, line)


# --- what the guest does ------------------------------------------------------------------


def guest_detail(rt: Runtime, state: dict[str, Any]) -> str:
    """ "grub" (hung at the GRUB prompt), "booting", "up" (answers), or "" when not running."""
    if state.get("power") != "running":
        return ""
    boot = state.get("boot") or {}
    if boot.get("grub"):
        return "grub"
    if rt.clock.time() < boot.get("started", 0.0) + rt.timings.boot_s:
        return "booting"
    return "up"


def answers(rt: Runtime, state: dict[str, Any]) -> bool:
    """Whether the guest answers on the network (booted, not stuck at GRUB)."""
    return guest_detail(rt, state) == "up"


def import_refusal(url: str | None, settings: Settings) -> str | None:
    """Why the import of this URL fails, or None: the sim fetches nothing, but checks the
    URL as the libvirt driver does before fetching (compute/import_url.py), name lookup
    included. Hosts under the names reserved for documentation (RFC 2606) stand for a
    public server without a lookup: the examples in the docs work on any machine."""
    try:
        labels = (import_url.split(url or "").hostname or "").rstrip(".").split(".")
        if labels[-1] == "example" or ".".join(labels[-2:]) in DOCUMENTATION_DOMAINS:
            return None
    except import_url.Refused:
        pass  # said below
    try:
        import_url.destination(url or "", settings.import_allowed_networks)
    except import_url.Refused as exc:
        return str(exc)
    return None


def disk_bytes(disk: dict[str, Any], family: str) -> int:
    written = sum(len(text.encode()) for text in disk.get("files", {}).values())
    return BASE_DISK_BYTES.get(family, BASE_DISK_BYTES["linux"]) + BLOCK * math.ceil(
        written / BLOCK
    )


def console_text(rt: Runtime, state: dict[str, Any]) -> str:
    """Everything the console has printed so far (the server clock decides what is out)."""
    now = rt.clock.time()
    lines = state.get("console", {}).get("lines", [])
    return "".join(text for _, at, text in lines if at <= now)


def _banner(rt: Runtime, spec: InstanceSpec) -> str:
    image = rt.catalog.image(spec.os_id)
    view = image.viewname if image else spec.os_name
    if view.startswith("Debian "):
        return "Debian GNU/Linux " + view.split(" ", 1)[1]
    return view


def _initial_files(rt: Runtime, spec: InstanceSpec) -> dict[str, str]:
    if spec.os_family == "import":
        return {"/etc/imported-from": f"{spec.import_url}\n"}
    files = {
        "/etc/hostname": f"{spec.name}\n",
        "/etc/issue": f"{_banner(rt, spec)} \\n \\l\n",
    }
    if spec.ssh_public_key:
        files["/root/.ssh/authorized_keys"] = spec.ssh_public_key.strip() + "\n"
    return files


def _boot_lines(rt: Runtime, spec: InstanceSpec, grub: bool) -> list[tuple[float, str]]:
    """(fraction of the boot time, text) for one boot, ending at a prompt."""
    if grub:
        return [
            (0.0, "\r\n"),
            (0.1, "                             GNU GRUB  version 2.06-13+deb12u1\r\n"),
            (0.2, "\r\n"),
            (0.3, "   Minimal BASH-like line editing is supported. For the first word, TAB\r\n"),
            (0.3, "   lists possible command completions. Anywhere else TAB lists possible\r\n"),
            (0.3, "   device or file completions.\r\n"),
            (0.4, "\r\n"),
            (0.5, "grub> "),
        ]
    name = spec.name
    if spec.os_family == "windows":
        return [
            (0.0, "\r\nComputer is booting, SAC started and initialized.\r\n"),
            (0.3, '\r\nUse the "ch -?" command for information about using channels.\r\n'),
            (0.6, 'Use the "?" command for general help.\r\n'),
            (1.0, "\r\nSAC>"),
        ]
    kernel = "6.1.0-25-amd64"
    steps = [
        (0.00, f"Linux version {kernel} (debian-kernel@lists.debian.org) #1 SMP"),
        (0.00, f"Command line: BOOT_IMAGE=/boot/vmlinuz-{kernel} ro console=ttyS0,115200n8"),
        (0.05, f"DMI: QEMU Standard PC (i440FX + PIIX, 1996), hostname {name}"),
        (0.15, "virtio_blk virtio2: [vda] 41943040 512-byte logical blocks"),
        (0.30, "EXT4-fs (vda1): mounted filesystem with ordered data mode."),
        (0.40, "Run /sbin/init as init process"),
        (0.50, "systemd[1]: Detected virtualization kvm."),
        (0.55, f"systemd[1]: Hostname set to <{name}>."),
    ]
    lines = [(f, f"[{f * KERNEL_BOOT_S:12.6f}] {text}\r\n") for f, text in steps]
    lines += [
        (0.80, "[  OK  ] Started ssh.service - OpenBSD Secure Shell server.\r\n"),
        (0.90, "[  OK  ] Reached target multi-user.target - Multi-User System.\r\n"),
        (1.00, f"\r\n{_banner(rt, spec)} {name} ttyS0\r\n\r\n"),
        (1.00, f"{name} login: "),
    ]
    return lines


def _shutdown_lines(st: dict[str, Any], at: float) -> None:
    _say(st, at, "\r\n[  OK  ] Reached target poweroff.target - System Power Off.\r\n")
    _say(st, at, "reboot: Power down\r\n")


def _say(st: dict[str, Any], at: float, text: str) -> None:
    console = st.setdefault("console", {"seq": 0, "lines": []})
    if not text.endswith((" ", ">", "\n")):
        text += "\r\n"
    if console["lines"]:
        at = max(at, console["lines"][-1][1])  # printed in order
    console["seq"] += 1
    console["lines"].append([console["seq"], at, text])
    if len(console["lines"]) > CONSOLE_KEEP:
        del console["lines"][: len(console["lines"]) - CONSOLE_KEEP]


def _forget_future(st: dict[str, Any], now: float) -> None:
    """An interrupted boot never prints the rest of its log."""
    console = st.get("console")
    if console:
        console["lines"] = [line for line in console["lines"] if line[1] <= now]


# --- the console stream -------------------------------------------------------------------


class SimConsole:
    """An instance's serial console: what the sim printed, read from the store, and a
    little line discipline for keystrokes (echo; a login prompt that refuses everyone;
    a GRUB prompt that knows no command)."""

    POLL_S = 0.1

    def __init__(self, rt: Runtime, instance_id: int, name: str) -> None:
        self.rt = rt
        self.instance_id = instance_id
        self.name = name
        self._cursor = 0
        self._echo = bytearray()
        self._line = bytearray()
        self._awaiting_password = False
        self._lock = threading.Lock()
        self._closed = False

    def read(self, timeout: float = 0.0) -> bytes:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            out = self._take_echo() + self._take_printed()
            if out or self._closed or time.monotonic() >= deadline:
                return out
            time.sleep(min(self.POLL_S, max(deadline - time.monotonic(), 0.0)))

    def write(self, data: bytes) -> None:
        state = self._state()
        mode = guest_detail(self.rt, state)
        if mode not in ("up", "grub"):
            return  # nothing listens on the console yet
        with self._lock:
            for byte in data:
                ch = bytes([byte])
                if ch in (b"\r", b"\n"):
                    self._echo += b"\r\n" + self._answer(mode, self._line.decode(errors="replace"))
                    self._line.clear()
                elif ch in (b"\x7f", b"\x08"):
                    if self._line:
                        self._line = self._line[:-1]
                        if not self._awaiting_password:
                            self._echo += b"\x08 \x08"
                else:
                    self._line += ch
                    if not self._awaiting_password:
                        self._echo += ch

    def close(self) -> None:
        self._closed = True

    def _answer(self, mode: str, line: str) -> bytes:
        if mode == "grub":
            word = line.strip().split(" ", 1)[0]
            if not word:
                return b"grub> "
            return f"error: can't find command `{word}'.\r\ngrub> ".encode()
        if self._awaiting_password:
            self._awaiting_password = False
            return f"\r\nLogin incorrect\r\n{self.name} login: ".encode()
        if not line.strip():
            return f"{self.name} login: ".encode()
        self._awaiting_password = True
        return b"Password: "

    def _take_echo(self) -> bytes:
        with self._lock:
            out = bytes(self._echo)
            self._echo.clear()
        return out

    def _take_printed(self) -> bytes:
        state = self._state()
        now = self.rt.clock.time()
        parts = []
        for seq, at, text in state.get("console", {}).get("lines", []):
            if seq > self._cursor and at <= now:
                parts.append(text)
                self._cursor = seq
            elif at > now:
                break
        return "".join(parts).encode()

    def _state(self) -> dict[str, Any]:
        with self.rt.db.read() as s:
            raw = s.get(Instance, self.instance_id)
            state: dict[str, Any] = json.loads(raw.driver_state) if raw else {}
        return state
