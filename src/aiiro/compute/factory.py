"""Choosing the compute driver named by the settings."""

from __future__ import annotations

from importlib.util import find_spec

from aiiro.compute.driver import ComputeDriver
from aiiro.runtime import Runtime


def missing_requirement(driver: str) -> str | None:
    """What this process lacks to run `driver`, as one line with the fix; None if nothing."""
    if driver == "libvirt" and find_spec("libvirt") is None:
        return (
            "the libvirt driver needs libvirt-python: apt-get install libvirt-dev pkg-config, "
            "then .venv/bin/pip install -e '.[libvirt]' (docs/operating-a-host.md)"
        )
    return None


def make_driver(rt: Runtime) -> ComputeDriver:
    if rt.settings.driver == "libvirt":
        from aiiro.compute.libvirt import LibvirtDriver

        return LibvirtDriver(rt)
    from aiiro.compute.sim import SimDriver

    return SimDriver(rt)
