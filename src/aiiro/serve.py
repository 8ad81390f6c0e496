"""Building the served application from settings (also uvicorn's factory for workers)."""

from __future__ import annotations

from fastapi import FastAPI

from aiiro.config import Settings
from aiiro.runtime import Runtime, build_runtime


def wire(rt: Runtime) -> Runtime:
    """Attach the engine and compute driver to a runtime (filled in as they land)."""
    return rt


def build_app(settings: Settings) -> FastAPI:
    from aiiro.api.app import create_app

    rt = wire(build_runtime(settings))
    rt.db.upgrade()
    return create_app(rt)


def app_from_env() -> FastAPI:
    return build_app(Settings())
