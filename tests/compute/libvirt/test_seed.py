"""The cloud-init NoCloud seed: an ISO labelled cidata with the key and the address."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from aiiro.compute.libvirt.seed import meta_data, network_config, user_data, write_seed_iso

KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7"


def test_user_data_installs_the_key_for_the_login_user_and_powers_off() -> None:
    text = user_data("debian", KEY, "web1")
    assert text.startswith("#cloud-config\n")
    data = yaml.safe_load(text)
    assert data["users"][0]["name"] == "debian"
    assert data["users"][0]["ssh_authorized_keys"] == [KEY]
    assert data["ssh_pwauth"] is False
    assert data["power_state"]["mode"] == "poweroff"  # the end of "OS installation"
    assert data["manage_etc_hosts"] is True


def test_user_data_for_root() -> None:
    data = yaml.safe_load(user_data("root", KEY, "web1"))
    assert data["ssh_authorized_keys"] == [KEY] and data["disable_root"] is False


def test_network_config_sets_the_allocated_address() -> None:
    data = yaml.safe_load(network_config("00:13:5D:00:00:01", "198.18.0.7", 15, "198.18.0.1"))
    eth = data["ethernets"]["eth0"]
    assert eth["match"] == {"macaddress": "00:13:5d:00:00:01"}
    assert eth["addresses"] == ["198.18.0.7/15"]
    assert eth["routes"] == [{"to": "0.0.0.0/0", "via": "198.18.0.1"}]
    assert yaml.safe_load(meta_data("i-1", "web1")) == {
        "instance-id": "i-1",
        "local-hostname": "web1",
    }


def test_seed_iso_is_labelled_cidata(tmp_path: Path) -> None:
    if shutil.which("isoinfo") is None or shutil.which("genisoimage") is None:
        pytest.skip("genisoimage is not installed")
    iso = tmp_path / "seed.iso"
    write_seed_iso(iso, {"meta-data": "instance-id: x\n", "user-data": user_data("root", KEY, "h")})
    info = subprocess.run(["isoinfo", "-d", "-i", str(iso)], capture_output=True, text=True)
    assert "Volume id: cidata" in info.stdout
    listing = subprocess.run(
        ["isoinfo", "-J", "-f", "-i", str(iso)], capture_output=True, text=True
    ).stdout.split()
    assert sorted(listing) == ["/meta-data", "/user-data"]
    body = subprocess.run(
        ["isoinfo", "-J", "-x", "/user-data", "-i", str(iso)], capture_output=True, text=True
    ).stdout
    assert KEY in body
