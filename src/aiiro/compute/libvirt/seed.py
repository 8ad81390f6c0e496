"""The cloud-init NoCloud seed of an instance: an ISO 9660 image labelled `cidata` holding
meta-data, user-data and network-config (cloud-init's "NoCloud" data source)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

ISO_TOOLS = ("genisoimage", "xorrisofs", "mkisofs")


def user_data(login_user: str, ssh_key: str | None, hostname: str) -> str:
    config: dict[str, object] = {
        "hostname": hostname,
        "manage_etc_hosts": True,  # the hostname resolves (sudo asks for it)
        "users": [
            {
                "name": login_user,
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "shell": "/bin/bash",
                "lock_passwd": True,
                "ssh_authorized_keys": [ssh_key] if ssh_key else [],
            }
        ]
        if login_user != "root"
        else [],
        "disable_root": login_user != "root",
        "ssh_pwauth": False,
        # The first boot is the "OS installation": when cloud-init is done, power off, and
        # the instance is Stopped as on Indigo.
        "power_state": {"mode": "poweroff", "condition": True, "timeout": 30},
    }
    if login_user == "root" and ssh_key:
        config["ssh_authorized_keys"] = [ssh_key]
    return "#cloud-config\n" + yaml.safe_dump(config, sort_keys=False)


def meta_data(instance_uuid: str, hostname: str) -> str:
    return yaml.safe_dump({"instance-id": instance_uuid, "local-hostname": hostname})


def network_config(mac: str | None, ipv4: str | None, prefixlen: int, gateway: str | None) -> str:
    ethernet: dict[str, object] = {"dhcp4": False}
    if mac:
        ethernet["match"] = {"macaddress": mac.lower()}
    if ipv4:
        ethernet["addresses"] = [f"{ipv4}/{prefixlen}"]
    if gateway:
        ethernet["routes"] = [{"to": "0.0.0.0/0", "via": gateway}]
    return yaml.safe_dump({"version": 2, "ethernets": {"eth0": ethernet}}, sort_keys=False)


def write_seed_iso(target: Path, files: dict[str, str]) -> None:
    tool = next((t for t in ISO_TOOLS if shutil.which(t)), None)
    if tool is None:
        raise RuntimeError("no ISO tool (genisoimage or xorriso) on this host")
    with tempfile.TemporaryDirectory(prefix="aiiro-seed-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text)
        partial = target.with_suffix(".partial")
        subprocess.run(
            [
                tool,
                "-quiet",
                "-output",
                str(partial),
                "-volid",
                "cidata",
                "-joliet",
                "-rock",
                *sorted(files),
            ],
            cwd=tmp,
            check=True,
            capture_output=True,
        )
        partial.chmod(0o644)
        partial.replace(target)
