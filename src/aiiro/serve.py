"""Building the served application from settings (also uvicorn's factory for workers)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

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

    BoundedHttp.head_timeout = settings.client_timeout_s
    rt = wire(build_runtime(settings))
    rt.db.upgrade()
    restore(rt)
    return create_app(rt)


class BoundedHttp(HttpToolsProtocol):
    """uvicorn's HTTP protocol with a deadline on each request's head: uvicorn times out
    idle keep-alive connections but waits forever for a head that never ends, so a client
    that opens connections and sends half a header would hold them all. (A body that
    stalls is api/bounds.py's.) `head_timeout` is set from the settings by build_app."""

    head_timeout = 30.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout, self._expire)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _expire(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


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
