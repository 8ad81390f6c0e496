"""Emulator controls: timing profiles, fault rules, the request log."""
