"""SQLite: the writes of one process take turns on a lock of the process, so a write
waiting for another thread's is woken the moment that one ends, never left in SQLite's
busy handler (which sleeps 1, 2, 5, 10, 15, 20... ms between tries). Against another
process (here a connection of its own, outside the turn) a write waits `lock_wait_s` in
SQLite, then fails as busy: the API answers 503."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from aiiro.config import Settings
from aiiro.serve import build_app
from aiiro.store import db as store_db
from aiiro.store.db import Database, is_busy
from tests.conftest import make_account


def rows(db: Database) -> list[int]:
    with db.read() as s:
        return [r[0] for r in s.execute(text("SELECT x FROM t ORDER BY rowid"))]


def insert(db: Database, x: int, errors: list[BaseException]) -> None:
    try:
        with db.write() as s:
            s.execute(text("INSERT INTO t VALUES (:x)"), {"x": x})
    except Exception as exc:
        errors.append(exc)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    # SQLite waits not at all: two writes meeting inside SQLite fail at once.
    d = Database(f"sqlite:///{tmp_path / 'turn.db'}", lock_wait_s=0)
    with d.write() as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
    yield d
    d.dispose()


def test_a_write_waits_its_turn_behind_another_thread_s(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting = threading.Event()
    take_turn = store_db._TakesTurns.take_turn

    def noticed(self: store_db._TakesTurns) -> None:
        if self.turn.acquire(blocking=False):
            self.turn.release()
        else:
            waiting.set()  # another thread's write is under way
        take_turn(self)

    monkeypatch.setattr(store_db._TakesTurns, "take_turn", noticed)
    errors: list[BaseException] = []
    second = threading.Thread(target=insert, args=(db, 2, errors))
    with db.write() as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
        second.start()
        assert waiting.wait(30)  # the second write queues on the turn, not in SQLite
    second.join(30)
    assert errors == [] and rows(db) == [1, 2]


def test_another_process_s_write_is_waited_for_then_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'busy.db'}", lock_wait_s=0.2)
    with db.write() as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
    other = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    errors: list[BaseException] = []
    insert(db, 1, errors)
    assert len(errors) == 1 and is_busy(errors[0])
    other.execute("ROLLBACK")
    other.close()
    # The failed write gave its turn back: a write of another thread goes through.
    monkeypatch.setattr(store_db, "TURN_WAIT_S", 5.0)
    errors.clear()
    later = threading.Thread(target=insert, args=(db, 2, errors))
    later.start()
    later.join(30)
    assert errors == [] and rows(db) == [2]
    db.dispose()


@pytest.mark.sqlite_only  # SQLite's one write lock, held by another connection
def test_the_api_answers_503_while_another_process_holds_the_store(
    settings: Settings, tmp_path: Path
) -> None:
    app = build_app(settings.model_copy(update={"lock_wait_s": 0.2}))
    try:
        with TestClient(app, base_url="http://aiiro.test") as client:
            alice = make_account(app.state.runtime, client, "Alice Example")
            # (Without a worker thread, the first request's engine pass takes back the
            # claims of dead workers: a write. Done before the lock is taken.)
            assert alice.get("/webarenaIndigo/v1/vm/getinstancelist").status_code == 200
            other = sqlite3.connect(tmp_path / "aiiro.db", isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            try:
                r = alice.post(
                    "/webarenaIndigo/v1/vm/sshkey", {"sshName": "k", "sshKey": "ssh-ed25519 AAAA"}
                )
                listed = alice.get("/webarenaIndigo/v1/vm/getinstancelist")
            finally:
                other.execute("ROLLBACK")
                other.close()
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
            assert r.json() == {
                "success": False,
                "errorMessage": "The service is busy. Please try again shortly.",
                "errorCode": "A5030",
            }
            assert listed.status_code == 200 and listed.text == "[]"
    finally:
        app.state.runtime.db.dispose()
