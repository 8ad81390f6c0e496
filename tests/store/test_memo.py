"""Database.memo: a value kept until the database changes, by any connection or process."""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from aiiro.store.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    d = Database(f"sqlite:///{tmp_path / 'memo.db'}")
    with d.write() as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
    yield d
    d.dispose()


class Counter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.calls = 0

    def __call__(self) -> list[int]:
        self.calls += 1
        with self.db.read() as s:
            return [row[0] for row in s.execute(text("SELECT x FROM t ORDER BY x"))]


def test_kept_while_nothing_is_committed(db: Database) -> None:
    compute = Counter(db)
    assert db.memo("k", compute) == db.memo("k", compute) == []
    with db.read() as s:
        s.execute(text("SELECT * FROM t")).all()
    assert db.memo("k", compute) == []
    assert compute.calls == 1


def test_a_commit_in_this_process_recomputes(db: Database) -> None:
    compute = Counter(db)
    db.memo("k", compute)
    with db.write() as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
    assert db.memo("k", compute) == [1]
    assert compute.calls == 2


def test_a_rollback_does_not(db: Database) -> None:
    compute = Counter(db)
    db.memo("k", compute)
    with pytest.raises(RuntimeError), db.write() as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError
    assert db.memo("k", compute) == []
    assert compute.calls == 1


def test_a_commit_by_another_process_recomputes(db: Database, tmp_path: Path) -> None:
    compute = Counter(db)
    db.memo("k", compute)
    script = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "c.execute('INSERT INTO t VALUES (7)'); c.commit()"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "memo.db")], check=True)
    assert db.memo("k", compute) == [7]


def test_a_commit_by_another_connection_recomputes(db: Database, tmp_path: Path) -> None:
    compute = Counter(db)
    db.memo("k", compute)
    other = sqlite3.connect(tmp_path / "memo.db")
    other.execute("INSERT INTO t VALUES (3)")
    other.commit()
    other.close()
    assert db.memo("k", compute) == [3]


def test_a_request_reads_the_version_once_but_sees_its_own_writes(
    db: Database, tmp_path: Path
) -> None:
    """Database.pin (the middleware's, at the start of each request): what another
    connection commits meanwhile is seen by the next request; this request's own writes
    at once."""
    compute = Counter(db)

    def request(work: Callable[[], list[int]]) -> list[int]:
        def run() -> list[int]:
            db.pin()
            return work()

        return contextvars.copy_context().run(run)

    def commit_elsewhere_then_list() -> list[int]:
        other = sqlite3.connect(tmp_path / "memo.db")
        other.execute("INSERT INTO t VALUES (5)")
        other.commit()
        other.close()
        return db.memo("k", compute)

    def write_then_list() -> list[int]:
        with db.write() as s:
            s.execute(text("INSERT INTO t VALUES (6)"))
        return db.memo("k", compute)

    assert request(lambda: db.memo("k", compute)) == []
    assert request(commit_elsewhere_then_list) == []  # as if it had come a moment earlier
    assert request(lambda: db.memo("k", compute)) == [5]
    assert request(write_then_list) == [5, 6]
    assert db.memo("k", compute) == [5, 6]  # outside any request: read every time
    assert compute.calls == 3


def test_requests_that_begin_in_one_turn_of_the_loop_share_one_read(
    db: Database, tmp_path: Path
) -> None:
    """The middleware's pins in one turn of the event loop read the version once; a
    commit elsewhere is seen from the next turn, a commit here at once."""
    reads = 0
    read = db.version

    def counted() -> int | None:
        nonlocal reads
        reads += 1
        return read()

    db.version = counted  # type: ignore[method-assign]

    def request() -> int | None:
        return contextvars.copy_context().run(db.pin)

    def commit_elsewhere() -> None:
        other = sqlite3.connect(tmp_path / "memo.db")
        other.execute("INSERT INTO t VALUES (7)")
        other.commit()
        other.close()

    async def turns() -> None:
        first = request()
        commit_elsewhere()
        assert request() == first  # begun in the same turn: as if it came a moment earlier
        assert reads == 1
        await asyncio.sleep(0)
        second = request()
        assert second != first
        assert reads == 2
        with db.write() as s:
            s.execute(text("INSERT INTO t VALUES (8)"))
        assert request() != second  # this process's own commit: read again
        assert reads == 3

    asyncio.run(turns())
    assert request() is not None and reads == 4  # no loop: every pin reads


def test_keys_are_kept_apart(db: Database) -> None:
    assert db.memo(("a", 1), lambda: "one") == "one"
    assert db.memo(("a", 2), lambda: "two") == "two"
    assert db.memo(("a", 1), lambda: "other") == "one"


def test_memory_is_bounded(db: Database) -> None:
    db._memo.max_bytes = 250
    for i in range(5):
        assert db.memo(i, lambda i=i: bytes([i]) * 100) == bytes([i]) * 100
    assert db._memo.weight <= 250 and db._memo.keys() == [3, 4]
    # What was dropped is computed again, not lost.
    assert db.memo(0, lambda: b"again") == b"again"


def test_a_commit_drops_every_older_value(db: Database) -> None:
    db.memo("a", lambda: b"x" * 10)
    with db.write() as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
    db.memo("b", lambda: b"y")
    assert db._memo.keys() == ["b"] and db._memo.weight == 1


def test_in_memory_sqlite_is_never_memoised() -> None:
    d = Database("sqlite:///:memory:")
    assert d.version() is None
    calls: list[int] = []
    d.memo("k", lambda: calls.append(1))
    d.memo("k", lambda: calls.append(1))
    assert len(calls) == 2
    d.dispose()


def settled(d: Database, than: int | None = None) -> int:
    """The version, once there is one (PostgreSQL: once the listener listens) other
    than `than` (once a change has reached it)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        version = d.version()
        if version is not None and version != than:
            return version
        time.sleep(0.01)
    raise AssertionError("the version never moved")


def test_a_commit_by_another_process_drops_the_value(empty_database_url: str) -> None:
    """Two handles on one database stand for two processes: a write through one is seen
    by the other's memo (SQLite: data_version; PostgreSQL: NOTIFY)."""
    mine, theirs = Database(empty_database_url), Database(empty_database_url)
    try:
        with mine.write() as s:
            s.execute(text("CREATE TABLE t (x INTEGER)"))
        compute = Counter(mine)
        before = settled(mine)
        assert mine.memo("k", compute) == mine.memo("k", compute) == []
        assert compute.calls == 1
        with theirs.write() as s:
            s.execute(text("INSERT INTO t VALUES (4)"))
        settled(mine, than=before)
        assert mine.memo("k", compute) == [4]
        assert compute.calls == 2
    finally:
        mine.dispose()
        theirs.dispose()


def test_a_quiet_write_keeps_the_value_on_postgresql(empty_database_url: str) -> None:
    d = Database(empty_database_url)
    try:
        with d.write() as s:
            s.execute(text("CREATE TABLE t (x INTEGER)"))
        before = settled(d)
        with d.write(quiet=True) as s:
            s.execute(text("INSERT INTO t VALUES (1)"))
        if d.is_sqlite:
            assert settled(d, than=before) != before  # SQLite cannot tell writes apart
        else:
            time.sleep(0.2)  # a notification, had there been one, would be in by now
            assert d.version() == before
    finally:
        d.dispose()
