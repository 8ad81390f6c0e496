"""Choosing the compute driver named by the settings."""

from __future__ import annotations

from aiiro.compute.driver import ComputeDriver
from aiiro.runtime import Runtime


def make_driver(rt: Runtime) -> ComputeDriver:
    if rt.settings.driver == "libvirt":
        from aiiro.compute.libvirt import LibvirtDriver

        return LibvirtDriver(rt)
    from aiiro.compute.sim import SimDriver

    return SimDriver(rt)
