"""Compute drivers: the interface (driver.py), `sim` and `libvirt`."""
