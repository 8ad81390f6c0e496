"""The database handle: engine, sessions, schema upgrade, and what changed.

SQLite runs in WAL mode with a busy timeout. Writes open with BEGIN IMMEDIATE so that two
writers queue on the lock instead of failing when a read lock is upgraded; reads stay
deferred and never wait for writers. A write waits for the lock at most `lock_wait_s`
(PostgreSQL: for a row lock), then fails with an error `is_busy` recognises: the API
answers it with a 503 rather than keep a client (and a thread) waiting.

`version()` is a number that moves whenever any process commits a write, so that caches
(`memo`, the runtime's copy of the emulator's controls) stay right across processes at
the cost of no query: SQLite's `PRAGMA data_version` on a connection of its own;
on PostgreSQL, every write transaction sends a NOTIFY on commit and a thread LISTENs
(changes.py). `on_change` callbacks (the engine's wake-up) run on each change another
process made (PostgreSQL; SQLite has no such signal, the engine looks at `version()`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from aiiro.store.changes import Listener, notify_on_commit
from aiiro.store.lru import Lru

T = TypeVar("T")
# A write waits its turn among this process's writes (SQLite itself waits `lock_wait_s`,
# for other processes only).
TURN_WAIT_S = 60.0
# Bounds of Database.memo: entries, and bytes of bytes/str values (rendered lists).
MEMO_ENTRIES = 4096
MEMO_BYTES = 64 * 1024 * 1024

# The version read when a request began (Database.pin): the request's later reads of it
# (each cached list) cost nothing, until this process commits a write.
_PINNED: ContextVar[tuple[Database, int, int] | None] = ContextVar("aiiro_version", default=None)


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running this code, or None (a thread of its own, a script)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Database:
    def __init__(self, url: str, echo: bool = False, lock_wait_s: float = 30.0) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            _ensure_sqlite_dir(url)
            # Each Database has its own write turn (a class per Database, since sqlite3
            # makes the connections).
            connection = type("Connection", (_TakesTurns,), {"turn": threading.RLock()})
            kwargs["connect_args"] = {
                "check_same_thread": False,
                "timeout": lock_wait_s,
                "factory": connection,
            }
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if not self.is_sqlite:
            _set_lock_timeout(self.engine, lock_wait_s)
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine, lock_wait_s)
        self._write_engine = self.engine.execution_options(aiiro_write=True)
        self._reader = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._writer = sessionmaker(bind=self._write_engine, expire_on_commit=False)
        self._watch: Any = None  # a connection of its own that reads PRAGMA data_version
        self._watch_lock = threading.Lock()
        # PostgreSQL: the NOTIFY listener, started on first use of version()/on_change.
        self._listener: Listener | None = None
        if not self.is_sqlite:
            self._listener = Listener(self.engine)
            notify_on_commit(self._writer, self._listener)
        # Values of one data version only: a commit makes every older one useless.
        self._memo: Lru[tuple[int, Any]] = Lru(MEMO_ENTRIES, MEMO_BYTES)
        self._memo_version: int | None = None
        self._commits = 0  # write transactions this process committed
        # (loop, version, _commits): the version read in this turn of that loop
        self._shared_read: tuple[asyncio.AbstractEventLoop, int, int] | None = None

        @event.listens_for(self._writer, "after_commit")
        def _committed(_: Session) -> None:
            self._commits += 1

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    @contextmanager
    def write(self, quiet: bool = False) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on an exception.
        `quiet`: a write no cache depends on (a quota count), which on PostgreSQL other
        processes are not told of (SQLite's data_version moves all the same)."""
        with self._writer(info={"quiet": quiet}) as session, session.begin():
            yield session

    def writer(self) -> Session:
        """A session whose transactions are writes (BEGIN IMMEDIATE on SQLite), begun on
        first use and again after each commit: for work that commits more than once."""
        return self._writer()

    def upgrade(self) -> None:
        from aiiro.store.migrate import upgrade

        upgrade(self.engine)

    def pin(self) -> int | None:
        """The version now, read once for the rest of the caller's context (a request):
        `version()` answers it again there until this process commits a write. Another
        process's commit meanwhile is seen by the next request, as if it came a moment
        later than this one.

        On an event loop, the requests that begin in one turn of it share one read (on
        SQLite a read is several per cent of a polled request's time). The callback that
        forgets the read is queued when it is made, so a request that uses it had its
        task queued before: it had arrived, and a commit that came before its client
        sent it came before the read. A commit of this process makes the next pin read
        again."""
        _PINNED.set(None)
        loop = running_loop()
        shared = self._shared_read
        if shared is not None and shared[0] is loop and shared[2] == self._commits:
            version: int | None = shared[1]
        else:
            version = self.version()
            if version is not None and loop is not None:
                self._shared_read = (loop, version, self._commits)
                loop.call_soon(self._forget_shared_read)
        if version is not None:
            _PINNED.set((self, version, self._commits))
        return version

    def _forget_shared_read(self) -> None:
        self._shared_read = None

    def version(self) -> int | None:
        """A number that changes whenever a write commits, in this process or another;
        None while there is no such cheap counter (in-memory SQLite; PostgreSQL until its
        listener is connected, or after it lost the connection): then every cache
        computes again."""
        pinned = _PINNED.get()
        if pinned is not None and pinned[0] is self and pinned[2] == self._commits:
            return pinned[1]
        if self._listener is not None:
            return self._listener.version()
        if self.engine.url.database in (None, "", ":memory:"):
            return None
        with self._watch_lock:
            if self._watch is None:
                cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
                cparams["check_same_thread"] = False
                self._watch = self.engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
            version: int = self._watch.execute("PRAGMA data_version").fetchone()[0]
            return version

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()`, remembered until the database changes (any commit anywhere).

        Only for values that are a function of the stored data alone: not of the clock,
        of randomness or of the request. Where `version` is None, always computes.
        The version is read before computing, so a commit racing with `compute` makes the
        next call compute again rather than serve a stale value.
        """
        version = self.version()
        if version is None:
            return compute()
        hit = self._memo.get(key)
        if hit is not None and hit[0] == version:
            cached: T = hit[1]
            return cached
        value = compute()
        with self._watch_lock:
            if self._memo_version is not None and version < self._memo_version:
                return value  # computed before a commit another caller has already seen
            if version != self._memo_version:
                self._memo.clear()
                self._memo_version = version
            self._memo.put(key, (version, value), _size(value))
        return value

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` (quickly: it runs on the listener's thread) whenever another
        process commits a write; PostgreSQL only (SQLite: watch `version()`)."""
        if self._listener is not None:
            self._listener.callbacks.append(callback)
            self._listener.start()

    def dispose(self) -> None:
        if self._listener is not None:
            self._listener.stop()
        with self._watch_lock:
            if self._watch is not None:
                self._watch.close()
                self._watch = None
            self._memo.clear()
            self._memo_version = None
        self.engine.dispose()


def _size(value: Any) -> int:
    return len(value) if isinstance(value, bytes | str) else 0


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1] if "///" in url else ""
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _set_lock_timeout(engine: Engine, lock_wait_s: float) -> None:
    """PostgreSQL: a statement waits for a row lock at most `lock_wait_s`. Set on every new
    connection, committed at once (a SET inside a transaction that is rolled back would be
    undone); the URL's own `options` (a search_path, say) are left as they are."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET lock_timeout = {int(lock_wait_s * 1000)}")
        dbapi_conn.commit()


def is_busy(exc: BaseException) -> bool:
    """Whether `exc` is the store's "waited for a lock, gave up" (SQLite's "database is
    locked", PostgreSQL's lock_timeout)."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) == "55P03":  # lock_not_available
        return True
    return isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig)


class _TakesTurns(sqlite3.Connection):
    """A SQLite connection whose write transactions take this process's write turn first,
    and give it back the moment they end. Threads of one process then wait for each other
    on a lock (woken at once) instead of in SQLite's busy handler, which sleeps 1, 2, 5,
    10... ms between tries; SQLite's own wait is left for other processes."""

    turn: threading.RLock
    holding = False

    def take_turn(self) -> None:
        # The process's writes go one by one, each quick: a turn that has not come after
        # this long means a transaction left open, not a busy store.
        if not self.turn.acquire(timeout=TURN_WAIT_S):
            raise sqlite3.OperationalError("database is locked (the write turn did not come)")
        self.holding = True

    def give_back(self) -> None:
        if self.holding:
            self.holding = False
            self.turn.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_back()


def _install_sqlite_hooks(engine: Engine, lock_wait_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin hook, not pysqlite, decide how transactions start.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(lock_wait_s * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("aiiro_write"):
            dbapi: _TakesTurns = conn.connection.dbapi_connection  # type: ignore[assignment]
            dbapi.take_turn()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi.give_back()
                raise
        else:
            conn.exec_driver_sql("BEGIN")
