"""Real VMs on this host through the libvirt driver; prints JSON.

    .venv/bin/python bench/libvirt_bench.py [--instances 6] [--memory-scale 0.25]

Measures, with the tiny image on the region's network (as root, after `aiiro host setup`):
- create_to_ssh_s: provision (first boot, key installed, powered off) + start + SSH login;
- install_s: provision until Stopped; start_to_ssh_s: start until SSH login;
- rss_mb_per_instance: resident memory of each running guest's QEMU process;
- capacity: N small instances started at once (N bounded by --instances), the seconds until
  all answer SSH, the host CPU they use when idle, and how many would fit in this host's
  memory at the measured RSS.

It calls the driver directly (what the engine does for createinstance/start), so the
figures leave out the API and the engine's polling (0.25 s in the fast profile). Every
machine it makes is destroyed at the end, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiiro.compute.driver import InstanceSpec
from aiiro.compute.libvirt import LibvirtDriver
from aiiro.config import Settings
from aiiro.runtime import build_runtime

FIRST_ID = 990000  # instance ids far from any server's own
BASE_ADDRESS = "198.19.254."  # inside the region pool, away from the test clients


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=6, help="at most this many at once")
    ap.add_argument("--memory-scale", type=float, default=0.25)
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args()
    n = max(1, min(args.instances, 40))

    with tempfile.TemporaryDirectory() as tmp:
        rt = build_runtime(
            Settings(data_dir=Path(tmp), libvirt_memory_scale=args.memory_scale, secret_key="b")
        )
        driver = LibvirtDriver(rt)
        key = Path(tmp) / "id_rsa"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "", "-f", str(key)],
            check=True,
        )
        public = " ".join(key.with_suffix(".pub").read_text().split()[:2])
        specs = [_spec(i, public) for i in range(n)]
        try:
            result = _run(driver, specs, key, args.timeout)
        finally:
            for spec in specs:
                if spec.state:
                    driver.destroy(spec)
            driver.hosts.close()
    result["memory_scale"] = args.memory_scale
    result["load_average_1m_at_end"] = os.getloadavg()[0]
    result["host"] = {"cpus": os.cpu_count(), "memory_mb": _host_memory_mb()}
    json.dump(result, sys.stdout, indent=2)
    print()


def _run(driver: LibvirtDriver, specs: list[InstanceSpec], key: Path, timeout: float) -> Any:
    first = specs[0]
    t0 = time.monotonic()
    driver.provision(first)
    _until(lambda: driver.observe(first).power == "shutoff", timeout)
    t1 = time.monotonic()
    driver.start(first)
    _until(lambda: _ssh(key, first.ipv4 or ""), timeout)
    t2 = time.monotonic()
    driver.force_stop(first)
    _until(lambda: driver.observe(first).power == "shutoff", timeout)
    t3 = time.monotonic()
    driver.start(first)
    _until(lambda: _ssh(key, first.ipv4 or ""), timeout)
    t4 = time.monotonic()
    rss_one = _rss_mb(first)

    # The rest: installed one after another (each first boot is short), then all started
    # at once.
    for spec in specs[1:]:
        driver.provision(spec)
    _until(lambda: all(driver.observe(s).power == "shutoff" for s in specs[1:]), timeout * 2)
    s0 = time.monotonic()
    for spec in specs[1:]:
        driver.start(spec)
    reached: set[int] = set()

    def all_reached() -> bool:
        reached.update(s.id for s in specs if s.id not in reached and _ssh(key, s.ipv4 or ""))
        return len(reached) == len(specs)

    everyone = _until(all_reached, timeout * 2, fail=False)
    s1 = time.monotonic()
    time.sleep(5)  # let the boots settle before measuring idle use
    rss = [_rss_mb(s) for s in specs]
    cpu = _idle_cpu_percent(specs, 10.0)
    per = sum(rss) / len(rss)
    return {
        "create_to_ssh_s": round(t2 - t0, 1),
        "install_s": round(t1 - t0, 1),
        "start_to_ssh_s": round(t4 - t3, 1),
        "first_start_to_ssh_s": round(t2 - t1, 1),
        "rss_mb_per_instance": round(per, 1),
        "rss_mb_single": round(rss_one, 1),
        "capacity": {
            "running_at_once": len(specs),
            "reachable_by_ssh": len(reached),
            "all_ssh_after_s": round(s1 - s0, 1) if everyone else None,
            "idle_cpu_percent_total": round(cpu, 1),
            "fits_in_memory": int(_host_memory_mb() * 0.9 // per),
        },
    }


def _spec(i: int, public_key: str) -> InstanceSpec:
    return InstanceSpec(
        id=FIRST_ID + i,
        name=f"bench-{i}",
        os_id=22,
        os_name="Debian12",
        os_family="linux",
        cpus=1,
        memory_mb=1024,
        disk_gb=20,
        region_id=1,
        mac=f"52:54:00:be:{i // 256:02x}:{i % 256:02x}",
        ipv4=f"{BASE_ADDRESS}{10 + i}",
        ssh_public_key=public_key,
    )


def _ssh(key: Path, address: str) -> bool:
    done = subprocess.run(
        [
            "ssh",
            "-i",
            str(key),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=3",
            "-o",
            "LogLevel=ERROR",
            f"root@{address}",
            "true",
        ],
        capture_output=True,
        timeout=30,
    )
    return done.returncode == 0


def _until(check: Any, timeout: float, fail: bool = True) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            if fail:
                raise TimeoutError("gave up waiting")
            return False
        time.sleep(0.5)
    return True


def _qemu_pid(spec: InstanceSpec) -> int:
    return int(Path(f"/run/libvirt/qemu/{spec.state['domain']}.pid").read_text())


def _rss_mb(spec: InstanceSpec) -> float:
    for line in Path(f"/proc/{_qemu_pid(spec)}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _idle_cpu_percent(specs: list[InstanceSpec], seconds: float) -> float:
    pids = [_qemu_pid(s) for s in specs]
    before = sum(_cpu_ticks(p) for p in pids)
    time.sleep(seconds)
    after = sum(_cpu_ticks(p) for p in pids)
    return (after - before) / os.sysconf("SC_CLK_TCK") / seconds * 100


def _host_memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 0


if __name__ == "__main__":
    main()
