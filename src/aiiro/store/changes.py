"""What changed, on PostgreSQL: every write transaction sends a NOTIFY as it commits, and
a thread in each process LISTENs, counting the notifications. The count is
`Database.version()` there (SQLite has `PRAGMA data_version` for it): caches keyed on it
are dropped on the next request after a change made by any process, at no cost to a
request when nothing changed.

One channel serves every aiiro on a PostgreSQL server; the payload names the schema the
write went to, and a listener counts only its own schema's (the tests run many
installations side by side in one database, a schema each).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("aiiro.store")

CHANNEL = "aiiro_changes"
RECONNECT_S = 1.0
# How often the listening thread looks up from its wait (to stop when asked).
WAKE_S = 1.0
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', current_schema())")
# A note no listener counts (no schema is named ''): it only wakes them.
_WAKE = text(f"SELECT pg_notify('{CHANNEL}', '')")


class Listener:
    """The LISTEN side: a thread with a connection of its own, started on first use."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._counter = itertools.count(1)
        self._count = 0
        self._connected = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.callbacks: list[Callable[[], None]] = []

    def version(self) -> int | None:
        """The count of changes seen; None until the thread listens (and while it has
        lost its connection): nothing can be cached on a count that may miss changes."""
        if self._thread is None:
            self.start()
        return self._count if self._connected else None

    def bump(self) -> None:
        # next() on a count is atomic under the GIL: no increment is lost between threads.
        self._count = next(self._counter)

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="aiiro-changes", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            if self._connected:
                # Wake the thread from its wait (else a stop takes WAKE_S/2 on average).
                try:
                    with self._engine.connect() as conn:
                        conn.execute(_WAKE)
                        conn.commit()
                except Exception as exc:  # it then ends after its wait all the same
                    log.debug("change listener: no wake-up sent: %s", exc)
            thread.join(WAKE_S * 2)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception as exc:
                if self._stop.is_set():
                    break
                log.warning("change listener: %s; listening again in %g s", exc, RECONNECT_S)
            finally:
                self._connected = False
            self._stop.wait(RECONNECT_S)

    def _listen(self) -> None:
        cargs, cparams = self._engine.dialect.create_connect_args(self._engine.url)
        conn: Any = self._engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
        try:
            conn.autocommit = True
            schema = conn.execute("SELECT current_schema()").fetchone()[0]
            conn.execute(f"LISTEN {CHANNEL}")
            # Whatever happened while no one listened counts as a change.
            self.bump()
            self._connected = True
            while not self._stop.is_set():
                for note in conn.notifies(timeout=WAKE_S):
                    if self._stop.is_set():
                        break
                    if note.payload != schema:
                        continue
                    self.bump()
                    for callback in self.callbacks:
                        callback()
        finally:
            conn.close()


def notify_on_commit(writer: sessionmaker[Session], listener: Listener) -> None:
    """Every write session made by `writer` tells the other processes as it commits (but
    for quiet ones), and this process at once (its own listener hears it a moment later)."""

    @event.listens_for(writer, "before_commit")
    def _notify(session: Session) -> None:
        if not session.info.get("quiet"):
            session.execute(_NOTIFY)

    @event.listens_for(writer, "after_commit")
    def _seen(session: Session) -> None:
        if not session.info.get("quiet"):
            listener.bump()
