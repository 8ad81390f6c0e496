"""The emulator's controls, under /_aiiro/: what an operator or a test suite uses to run,
tune and inspect an aiiro server (docs/emulator.md, docs/admin.md). They sit above the
Indigo API; the behaviour they tune sits below the domain (timing.py, domain/faults.py)."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from aiiro.emulator import admin, controls, inspect, scenarios

    return [admin.router, inspect.router, controls.router, scenarios.router]
