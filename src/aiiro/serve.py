"""Building the served application from settings (also uvicorn's factory for workers)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from aiiro.compute.driver import ComputeDriver
from aiiro.config import Settings
from aiiro.engine.worker import Engine, Work
from aiiro.runtime import Runtime, build_runtime


def make_engine(rt: Runtime, driver: ComputeDriver | None = None) -> Engine:
    """The engine with the compute driver the settings name, and the work it runs: the
    domain's operation handlers and its reconciliation pass."""
    from aiiro.compute.factory import make_driver
    from aiiro.domain import instance_ops, reconcile, snapshot_ops

    work = Work(
        handlers={**instance_ops.HANDLERS, **snapshot_ops.HANDLERS},
        give_up={**instance_ops.GIVE_UP, **snapshot_ops.GIVE_UP},
        reconcile=reconcile.run_pass,
        reconcile_batch=reconcile.BATCH,
    )
    return Engine(rt, driver if driver is not None else make_driver(rt), work)


def build_app(settings: Settings) -> FastAPI:
    """Settings -> store (upgraded) -> runtime (the emulator's state restored) -> driver
    and engine -> the application with every router. With `settings.worker` the engine's
    worker thread runs while the app is up; without it, each request runs what fell due
    itself before answering (tests)."""
    from aiiro import emulator
    from aiiro.api import app
    from aiiro.emulator.state import restore
    from aiiro.web.router import router as panel

    BoundedHttp.head_timeout = settings.client_timeout_s
    rt = build_runtime(settings)
    rt.db.upgrade()
    restore(rt)
    return app.create_app(rt, make_engine(rt), app.endpoints(), [*emulator.routers(), panel])


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
