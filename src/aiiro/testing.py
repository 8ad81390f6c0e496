"""pytest plugin: a running aiiro, credentials and the emulator controls in your tests.

Installed with aiiro (entry point `pytest11`), so its fixtures are available in any suite.
"""

from __future__ import annotations
