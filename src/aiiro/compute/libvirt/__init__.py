"""The libvirt compute driver: real virtual machines (see driver.py)."""

from aiiro.compute.libvirt.driver import LibvirtDriver

__all__ = ["LibvirtDriver"]
