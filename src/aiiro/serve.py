"""Building the served application from settings (also uvicorn's factory for workers)."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from aiiro.config import Settings
from aiiro.runtime import Runtime, build_runtime


def wire(rt: Runtime) -> Runtime:
    """Attach the compute driver and the engine to a runtime. With `settings.worker` the
    engine's worker thread runs while the app is up; without it, the API runs due
    operations itself before answering (tests)."""
    from aiiro.compute.factory import make_driver
    from aiiro.engine.worker import Engine

    driver = make_driver(rt)
    engine = Engine(rt, driver)
    rt.extras["driver"] = driver
    rt.extras["engine"] = engine
    if rt.settings.worker:
        rt.extras.setdefault("on_start", []).append(lambda _rt: engine.start())
        rt.extras.setdefault("on_stop", []).append(lambda _rt: engine.stop())
    return rt


def build_app(settings: Settings) -> FastAPI:
    from aiiro.api.app import create_app
    from aiiro.emulator.state import restore

    rt = wire(build_runtime(settings))
    rt.db.upgrade()
    restore(rt)
    return create_app(rt)


def app_from_env() -> FastAPI:
    settings = Settings()
    log_to_stderr(settings.log_level)
    return build_app(settings)


def log_to_stderr(level: str) -> None:
    """aiiro's own loggers (aiiro.engine, aiiro.libvirt...) on stderr beside uvicorn's, at
    the server's log level: without a handler Python would print only warnings and errors,
    with no level, and nothing at debug (where the engine puts tracebacks)."""
    logger = logging.getLogger("aiiro")
    if logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-8s %(name)s: %(message)s"))
    logger.addHandler(handler)
    numeric = logging.getLevelName(level.upper())
    logger.setLevel(numeric if isinstance(numeric, int) else logging.DEBUG)  # uvicorn's "trace"
