"""The request log: recent API requests with their bodies, secrets redacted (redaction.py),
kept in the store so that every process of a server logs to, and reads, the same log.

A testing aid, not an audit trail. Logging costs a request almost nothing: `add` puts the
request, as sent, on a short in-memory queue; GATHER_S later the event loop redacts what
is queued and writes it in one transaction, and any read writes the queue out first. So
no secret is ever at rest, and this process's requests are always in what it reads
(another process's appear within a few tens of milliseconds of their answer). The loop
writes, not a thread of its own: a thread holding the GIL for the writes makes every
request of the loop slower by more than the writes cost (measured: a third more CPU a
request); the loop pauses a millisecond or two for a batch instead.

A body of SHARED_MIN characters or more is kept once however many entries hold it (a
table of bodies by digest): a client polling a list gets the same answer again and again,
and writing each copy would cost more than the request.

Bounded: a body larger than MAX_BODY is not kept (only its size); the log is the last
`size` entries by id, those before it dropped by each process every PRUNE_ROWS it
writes; the oldest past MAX_BYTES of text (each entry's in full, its shared bodies too:
more than is stored) are dropped by each process every PRUNE_BYTES it stores, with the
bodies no entry holds any more; the queue itself never holds more than MAX_QUEUE entries.

On SQLite the log has a file of its own (`requests.db` beside `aiiro.db`): logging a
request then neither waits for the store's write lock nor counts as a change of the data
that caches are keyed on. On PostgreSQL it is a table of the same database, written
quietly (db.py). The table is made on first use, not by a migration: it holds nothing
that outlives a restart's worth of interest, and a new form of it gets a new name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import deque
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    union,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateIndex, CreateTable, DropTable

from aiiro.clock import Clock
from aiiro.redaction import body_text, redact_headers, redact_query, shown_body
from aiiro.store.db import Database, is_busy, running_loop

log = logging.getLogger("aiiro.store")

MAX_BODY = 64 * 1024
MAX_BYTES = 16 * 1024 * 1024
MAX_QUEUE = 10_000
# The first request queued sets a write this long later, so that a busy server writes
# (and prunes) many entries in one transaction rather than one each.
GATHER_S = 0.02
# How long the loop's write waits for the log's lock (another process writing its
# batch); when it is not had by then, the entries wait for the next write.
LOOP_LOCK_WAIT_S = 0.25
# A reader (or a closing server) writes the queue out first, waiting for the lock up to
# this many times LOOP_LOCK_WAIT_S.
READER_TRIES = 20
# Dropping what is past MAX_BYTES reads the whole log (a millisecond and more), so a
# process does it once it has written this many bytes since it last did: the log may
# hold that much more than its bounds, for a moment.
PRUNE_BYTES = 1024 * 1024
# Entries a process writes before it drops those past the last `size` (reads never show
# them): the table holds up to this many more per process, for a moment.
PRUNE_ROWS = 256
# Bodies this long or longer are kept once, by digest, however many entries hold them.
SHARED_MIN = 1024
# The log's forms before this one, dropped when this one is made.
FORMER_TABLES = ("request_log_2",)

_metadata = MetaData()
TABLE = Table(
    "request_log_3",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),  # server clock, seconds since the epoch
    Column("method", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("query", Text, nullable=False),  # redacted
    Column("status", Integer, nullable=False),
    # No index but the key's: a filtered read passes over at most `size` rows, and an index
    # costs every request's write.
    Column("account_id", Integer),
    # The API key the request's token was issued for, and what the quota made of it
    # (JSON of domain/quota.py's QuotaState.as_dict(), or null when the quota is off or did
    # not count the request: the token endpoint, a request without a valid token).
    Column("api_key_id", Integer),
    Column("quota", Text),
    # JSON of the headers shown (a dict); the bodies as redaction.body_text keeps them,
    # or "" and the digest of the body in BODIES.
    Column("headers", Text, nullable=False),
    Column("request_body", Text, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("request_digest", LargeBinary(16)),
    Column("response_digest", LargeBinary(16)),
    Column("duration_ms", Float, nullable=False),
    Column("size", Integer, nullable=False),  # characters shown, for MAX_BYTES
    sqlite_autoincrement=True,
)
BODIES = Table(
    "request_log_bodies",
    _metadata,
    Column("digest", LargeBinary(16), primary_key=True),
    Column("text", Text, nullable=False),
)


# A request as queued: at, method, path, query, status, account id, API key id, quota
# state, headers, the bodies (or their sizes when too large to keep), duration.
Queued = tuple[
    float,
    str,
    str,
    str,
    int,
    "int | None",
    "int | None",
    "dict[str, Any] | None",
    list[tuple[bytes, bytes]],
    bytes | int,
    bytes | int,
    float,
]


class _Bodies:
    """The bodies of the entries being written: each as kept (redaction.body_text), and
    those of SHARED_MIN or more by digest. Remembers the last few bodies by identity: a
    polled list answers with the very same bytes object until its data changes."""

    def __init__(self) -> None:
        self._recent: dict[int, tuple[bytes, str, bytes]] = {}
        self._headers: dict[tuple[tuple[bytes, bytes], ...], str] = {}

    def kept(self, raw: bytes | int, shared: dict[bytes, str]) -> tuple[str, bytes | None]:
        """The body's text, and its digest when it is shared (then in `shared` too)."""
        if raw == b"":
            return "null", None
        hit = self._recent.get(id(raw)) if isinstance(raw, bytes) else None
        if hit is not None and hit[0] is raw:
            _, text, digest = hit
        else:
            text = body_text(raw)
            if len(text) < SHARED_MIN:
                return text, None
            digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
            if isinstance(raw, bytes):
                if len(self._recent) >= 16:
                    self._recent.clear()
                self._recent[id(raw)] = (raw, text, digest)
        shared[digest] = text
        return text, digest

    def headers(self, headers: list[tuple[bytes, bytes]]) -> str:
        """The headers as shown (JSON), remembered for the next requests of the client."""
        key = tuple(headers)
        shown = self._headers.get(key)
        if shown is None:
            shown = json.dumps(redact_headers(headers))
            if len(self._headers) >= 64:
                self._headers.clear()
            self._headers[key] = shown
        return shown

    def row(self, q: Queued, shared: dict[bytes, str]) -> tuple[tuple[Any, ...], int]:
        """The table's row for `q` (the values of _COLUMNS), and the characters it stores
        itself (its shared bodies, put in `shared`, are counted once per write)."""
        at, method, path, query, status, account_id, api_key_id, quota, headers, req, resp, dur = q
        request_text, request_digest = self.kept(req, shared)
        response_text, response_digest = self.kept(resp, shared)
        shown_query = redact_query(query) if query else query
        shown_headers = self.headers(headers)
        # A NUL (sent as %00) is shown as sent: PostgreSQL's text cannot hold the character.
        path = path.replace("\x00", "%00")
        own = len(shown_query) + len(shown_headers) + len(path)
        inline_request = "" if request_digest else request_text
        inline_response = "" if response_digest else response_text
        row = (
            at,
            method,
            path,
            shown_query,
            status,
            account_id,
            api_key_id,
            None if quota is None else json.dumps(quota),
            shown_headers,
            inline_request,
            inline_response,
            request_digest,
            response_digest,
            dur,
            own + len(request_text) + len(response_text),  # size: as shown
        )
        return row, own + len(inline_request) + len(inline_response)


def _newest() -> Any:
    return select(func.max(TABLE.c.id)).scalar_subquery()


# The columns a row gives, in the table's order.
_COLUMNS = tuple(c.name for c in TABLE.columns if c.name != "id")
# Rows go in by INSERTs of many rows each: one statement (and one hand-over of the GIL
# around SQLite's work) for up to this many.
INSERT_ROWS = 64


def _shown(row: Any, bodies: dict[bytes, str]) -> dict[str, Any]:
    def body(text: str, digest: bytes | None) -> Any:
        if digest is None:
            return shown_body(text)
        held = bodies.get(digest)
        # Dropped by another process's pass while this entry was being written
        # (PostgreSQL, rarely): the entry stays, without its body.
        return "<body no longer kept>" if held is None else shown_body(held)

    return {
        "id": row.id,
        "at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row.at)),
        "method": row.method,
        "path": row.path,
        "query": row.query,
        "status": row.status,
        "account_id": row.account_id,
        "api_key_id": row.api_key_id,
        "quota": None if row.quota is None else json.loads(row.quota),
        "headers": json.loads(row.headers),
        "request_body": body(row.request_body, row.request_digest),
        "response_body": body(row.response_body, row.response_digest),
        "duration_ms": row.duration_ms,
    }


def _kept(body: bytes) -> bytes | int:
    return len(body) if len(body) > MAX_BODY else body


# The log's own SQLite file, beside the store's (runtime.py keeps it private).
SQLITE_FILE = "requests.db"


def _database_for(main: Database) -> Database:
    """Where the log goes: a file of its own beside a SQLite store; PostgreSQL's own."""
    name = main.engine.url.database
    if not main.is_sqlite or name in (None, "", ":memory:"):
        return main
    path = Path(name).with_name(SQLITE_FILE)
    return Database(f"sqlite:///{path}", lock_wait_s=LOOP_LOCK_WAIT_S)


class RequestLog:
    def __init__(self, main: Database, clock: Clock, size: int = 1000) -> None:
        self._db = _database_for(main)
        self._own_db = self._db is not main
        self._clock = clock
        self._size = size
        self._queue: deque[Queued] = deque(maxlen=MAX_QUEUE)
        self._queued = threading.Lock()  # the queue and `_due`
        self._due = False  # a write is set on the loop
        self._writing = threading.Lock()  # one write at a time: ids follow arrival
        self._ready = False
        self._unpruned = 0  # bytes written since the last pass over MAX_BYTES
        self._rows_unpruned = 0  # entries written since the last drop of those past `size`
        self._bodies = _Bodies()
        # A body already kept is left as it is (another entry holds it).
        dialect = sqlite if self._db.is_sqlite else postgresql
        self._insert_new_bodies = dialect.insert(BODIES).on_conflict_do_nothing()
        mark = "?" if self._db.engine.dialect.paramstyle == "qmark" else "%s"
        values = f"({', '.join([mark] * len(_COLUMNS))})"

        @lru_cache(maxsize=INSERT_ROWS)
        def insert_sql(n: int) -> str:
            rows = ", ".join([values] * n)
            return f"INSERT INTO {TABLE.name} ({', '.join(_COLUMNS)}) VALUES {rows}"

        self._insert_sql = insert_sql

    # -- the request's side: a tuple on a queue ------------------------------------------
    def add(
        self,
        method: str,
        path: str,
        query: str,
        status: int,
        account_id: int | None,
        headers: list[tuple[bytes, bytes]],
        request_body: bytes,
        response_body: bytes,
        duration_ms: float,
        api_key_id: int | None = None,
        quota: dict[str, Any] | None = None,
    ) -> None:
        item: Queued = (
            self._clock.time(),
            method,
            path,
            query,
            status,
            account_id,
            api_key_id,
            quota,
            headers,
            _kept(request_body),
            _kept(response_body),
            duration_ms,
        )
        with self._queued:
            self._queue.append(item)
            if self._due:  # the common case under load: one lock, nothing more
                return
        self._set_write()

    def _set_write(self, off_loop: bool = True) -> None:
        """A write GATHER_S from now on the event loop, unless one is set or nothing is
        queued. Not called from a server's loop: the write now, if `off_loop` (else the
        next request or reader writes the entries)."""
        loop = running_loop()
        if loop is None and not off_loop:
            return
        with self._queued:
            if self._due or not self._queue:
                return
            self._due = True
        if loop is None:
            self._write_due()
        else:
            loop.call_later(GATHER_S, self._write_due)

    def _write_due(self) -> None:
        """The write set by `_set_write`. A reader writing meanwhile takes these entries
        too; when the log's lock is not had at once (another process's write), they wait
        for the next write, set again here."""
        with self._queued:
            self._due = False
        try:
            self.flush(wait=False)
        except Exception as exc:
            if not is_busy(exc):
                log.exception("request log: could not write")
                return
        self._set_write(off_loop=False)  # what the lock kept out waits GATHER_S again

    # -- the reader's side ---------------------------------------------------------------
    def entries(
        self, account_id: int | None = None, limit: int = 100, api_key_id: int | None = None
    ) -> list[dict[str, Any]]:
        """The most recent `limit` requests (of one account, or one API key, if given),
        oldest first."""
        if limit <= 0:
            return []
        self.flush()
        q = (
            select(TABLE)
            .where(TABLE.c.id > _newest() - self._size)
            .order_by(TABLE.c.id.desc())
            .limit(limit)
        )
        if account_id is not None:
            q = q.where(TABLE.c.account_id == account_id)
        if api_key_id is not None:
            q = q.where(TABLE.c.api_key_id == api_key_id)
        with self._db.read() as s:
            rows = s.execute(q).all()
            digests = {d for r in rows for d in (r.request_digest, r.response_digest) if d}
            bodies: dict[bytes, str] = {}
            if digests:
                held = select(BODIES).where(BODIES.c.digest.in_(digests))
                bodies = {bytes(b.digest): b.text for b in s.execute(held)}
        return [_shown(r, bodies) for r in reversed(rows)]

    def clear(self) -> int:
        """Forget every logged request (those queued too); how many there were."""
        self._ensure_table()
        with self._writing:
            with self._queued:
                queued = len(self._queue)
                self._queue.clear()
            with self._db.write(quiet=True) as s:
                n = int(s.execute(delete(TABLE)).rowcount)  # type: ignore[attr-defined]
                s.execute(delete(BODIES))
        return n + queued

    def flush(self, wait: bool = True) -> None:
        """Write out what is queued (redacted), then drop what is past the bounds. Without
        `wait`, nothing is done while another thread of this process writes (it writes
        what is queued); on SQLite a write of another process is waited for
        LOOP_LOCK_WAIT_S at most (then the store's busy error, the entries queued again)."""
        self._ensure_table()
        if not self._writing.acquire(blocking=wait):
            return
        try:
            for attempt in range(READER_TRIES if wait else 1):
                try:
                    self._write_queued()
                    return
                except Exception as exc:
                    if not is_busy(exc) or attempt == READER_TRIES - 1 or not wait:
                        raise
        finally:
            self._writing.release()

    def _write_queued(self) -> None:
        with self._queued:
            items = list(self._queue)
            self._queue.clear()
        if not items:
            return
        try:
            self._write(items)
        except Exception as exc:
            if is_busy(exc):  # written with the next batch (oldest first)
                with self._queued:
                    self._queue.extendleft(reversed(items))
            raise

    def _write(self, items: list[Queued]) -> None:
        shared: dict[bytes, str] = {}
        rows = []
        size = self._unpruned
        for q in items:
            row, stored = self._bodies.row(q, shared)
            rows.append(row)
            size += stored
        size += sum(len(t) for t in shared.values())
        with self._db.write(quiet=True) as s:
            if shared:
                s.execute(
                    self._insert_new_bodies,
                    [{"digest": d, "text": t} for d, t in shared.items()],
                )
            # The driver's own statements, given the values in order: SQLAlchemy's
            # insert builds each row's parameters anew, a third of the cost of logging
            # a request.
            connection = s.connection()
            for start in range(0, len(rows), INSERT_ROWS):
                chunk = rows[start : start + INSERT_ROWS]
                connection.exec_driver_sql(
                    self._insert_sql(len(chunk)), tuple(chain.from_iterable(chunk))
                )
            # The last `size` entries by id (ids only grow) are the log; those before
            # are dropped once this process has written PRUNE_ROWS more (a delete
            # passes over the table: PostgreSQL does not take the key for it).
            since = self._rows_unpruned + len(rows)
            if since >= PRUNE_ROWS or size >= PRUNE_BYTES:
                s.execute(delete(TABLE).where(TABLE.c.id <= _newest() - self._size))
                since = 0
            if size >= PRUNE_BYTES:
                self._prune_bytes(s)
                size = 0
        self._unpruned, self._rows_unpruned = size, since

    def _prune_bytes(self, s: Any) -> None:
        """Drop the oldest entries past MAX_BYTES of kept text (a pass over the log: done
        once every PRUNE_BYTES written)."""
        running = select(
            TABLE.c.id, func.sum(TABLE.c.size).over(order_by=TABLE.c.id.desc()).label("total")
        ).subquery()
        oldest_kept = (
            select(func.min(running.c.id)).where(running.c.total <= MAX_BYTES).scalar_subquery()
        )
        s.execute(delete(TABLE).where(TABLE.c.id < oldest_kept))
        # The bodies no entry holds (one pass; an index on the digests would cost every
        # entry's write more than it saves here).
        held = union(
            select(TABLE.c.request_digest).where(TABLE.c.request_digest.is_not(None)),
            select(TABLE.c.response_digest).where(TABLE.c.response_digest.is_not(None)),
        )
        s.execute(delete(BODIES).where(BODIES.c.digest.not_in(held)))

    def _ensure_table(self) -> None:
        if self._ready:
            return
        for _ in range(2):  # two processes making it at once: one wins, the other sees it
            try:
                with self._db.write(quiet=True) as s:
                    for former in FORMER_TABLES:
                        s.execute(DropTable(Table(former, MetaData()), if_exists=True))
                    for table in (TABLE, BODIES):
                        s.execute(CreateTable(table, if_not_exists=True))
                        for index in table.indexes:
                            s.execute(CreateIndex(index, if_not_exists=True))
                self._ready = True
                return
            except DBAPIError:
                continue
        raise RuntimeError("the request log's table could not be made")

    def close(self) -> None:
        """Write out what is queued; let go of the log's own file."""
        try:
            self.flush()
        finally:
            if self._own_db:
                self._db.dispose()
