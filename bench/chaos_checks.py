"""The checks of bench/chaos.py: what a run's journal, kills, final views and store must
satisfy for "nothing lost under faults". Apart from the runner, so that they can be read
on their own and fed a made-up run (tests/acceptance/test_chaos.py).
"""

from __future__ import annotations

import ipaddress
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    exists,
    func,
    make_url,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from aiiro.store.models import Base

LOCKED = "database is locked"
ACCEPTED, REFUSED, UNSENT, INDETERMINATE = "accepted", "refused", "unsent", "indeterminate"
COMMANDS = ("start", "stop", "forcestop", "destroy")
# What each power command leaves the instance as once the engine is through: the text
# getinstancelist shows, or "removed" (no longer listed).
SETTLES_TO = {"start": "Running", "stop": "Stopped", "forcestop": "Stopped", "destroy": "removed"}
CHECKS = {
    "in_flight_at_each_kill": "every kill left operations pending or running",
    "settled": "no operation pending or running at the end",
    "no_5xx": "no answer with a status of 500 or more",
    "no_database_locked": f"no {LOCKED!r} in any answer or in the server's log",
    "no_errors_logged": "no traceback or ERROR line in the server's log",
    "no_failed_operations": "no operation ended `failed`",
    "instances": "accepted creates exist once; lost connections at most once; none unasked; "
    "each ends listed as its last command left it, or removed",
    "commands_once": "per instance, one operation for each accepted command, at most one "
    "for each indeterminate one, none for the others",
    "snapshots": "accepted snapshots exist once (created), deleted ones are gone",
    "ssh_keys": "accepted keys exist once, deleted ones are gone",
    "names_unique": "no account holds two instances, keys or snapshots of one name",
    "addresses": "no address held by two instances; none held by a removed one",
    "integrity": "SQLite: PRAGMA integrity_check and foreign_key_check; PostgreSQL (which "
    "replays its own log and has no such check): every table reads in full, and no foreign "
    "key the models declare points at a missing row",
}


@dataclass
class Entry:
    """One request as the client saw it."""

    client: int
    seq: int
    action: str
    at: float  # seconds since the load began
    outcome: str = UNSENT
    status: int | None = None
    code: str | None = None  # the Indigo error code of a refusal
    ms: float | None = None
    instance: int | None = None
    key: int | None = None
    snapshot: int | None = None
    name: str | None = None  # of the instance, key or snapshot made or deleted
    detail: str | None = None  # the transport error, or the body of a 5xx


@dataclass
class Kill:
    at: float
    in_flight: dict[str, int]  # operations by state, as the kill left them in the store
    powers: dict[str, int]  # instances (not removed) by power state, same moment
    restarted_after_s: float = 0.0


def store(url: str) -> Engine:
    """An engine for reading the store at `url` (SQLAlchemy), a new connection each time.
    SQLite: read-only. A read-write connection, the last to close after a kill, would
    checkpoint and remove the write-ahead log the dead server left: the restarted server
    would then not have to recover it."""
    if url.startswith("sqlite"):
        url = f"sqlite:///file:{make_url(url).database}?mode=ro&uri=true"
        return create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})
    return create_engine(url, poolclass=NullPool)


def counts(engine: Engine, sql: str) -> dict[str, int]:
    with engine.connect() as conn:
        return {str(k): int(n) for k, n in conn.execute(text(sql))}


@dataclass
class Stored:
    """The rows the checks need, read once the server has stopped."""

    instances: list[dict[str, Any]]
    keys: list[dict[str, Any]]
    snapshots: list[dict[str, Any]]
    operations: list[dict[str, Any]]
    addresses: list[dict[str, Any]]
    integrity: list[str]
    foreign_keys: int


def read_store(url: str, accounts: list[int]) -> Stored:
    engine = store(url)
    mine = ",".join(str(a) for a in accounts)
    try:
        with engine.connect() as conn:

            def rows(sql: str) -> list[dict[str, Any]]:
                return [dict(r._mapping) for r in conn.execute(text(sql))]

            found = Stored(
                instances=rows(
                    "SELECT id, account_id, name, power, removed_at, ipaddress, secondary_ip "
                    f"FROM instances WHERE account_id IN ({mine})"
                ),
                keys=rows(
                    f"SELECT id, account_id, name FROM ssh_keys WHERE account_id IN ({mine})"
                ),
                snapshots=rows(
                    "SELECT id, account_id, instance_id, name, status, deleted_at "
                    f"FROM snapshots WHERE account_id IN ({mine})"
                ),
                operations=rows("SELECT kind, instance_id, snapshot_id, state FROM operations"),
                addresses=rows("SELECT family, address, instance_id FROM ip_addresses"),
                integrity=[],
                foreign_keys=0,
            )
        found.integrity, found.foreign_keys = integrity(engine)
        return found
    finally:
        engine.dispose()


def integrity(engine: Engine) -> tuple[list[str], int]:
    """(["ok"] or what is wrong, rows whose foreign key points at nothing), as the
    `integrity` check describes it for each database."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            lines = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check")]
            return lines, len(conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall())
    unreadable: list[str] = []
    orphans = 0
    for table in Base.metadata.sorted_tables:
        try:
            with engine.connect() as conn:
                for _ in conn.execute(select(table)):
                    pass
                orphans += sum(_orphans(conn, table))
        except DBAPIError as exc:
            unreadable.append(f"{table.name}: {exc.orig}")
    return unreadable or ["ok"], orphans


def _orphans(conn: Connection, table: Table) -> list[int]:
    """For each foreign key of `table`: its rows that name a parent row that is missing."""
    found = []
    for fk in table.foreign_key_constraints:
        parent = fk.referred_table.alias("parent")
        pairs = [(e.parent, parent.c[e.column.name]) for e in fk.elements]
        query = (
            select(func.count())
            .select_from(table)
            .where(*(child.is_not(None) for child, _ in pairs))
            .where(~exists().where(*(child == p for child, p in pairs)))
        )
        found.append(int(conn.execute(query).scalar_one()))
    return found


class Problems:
    """Each check's findings; a check passes with none."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {name: [] for name in CHECKS}

    def add(self, check: str, text: str) -> None:
        self.found[check].append(text)

    def summary(self, shown: int = 10) -> dict[str, Any]:
        return {
            name: {"ok": not found, "problems": len(found), "first": found[:shown]}
            for name, found in self.found.items()
        }


def by_outcome(entries: list[Entry]) -> Counter[str]:
    return Counter(e.outcome for e in entries)


def expect_once(p: Problems, check: str, what: str, entries: list[Entry], found: int) -> None:
    """`found` rows for requests that each asked for one: exactly one for an accepted
    request, none or one for an indeterminate one, none otherwise."""
    n = by_outcome(entries)
    low, high = n[ACCEPTED], n[ACCEPTED] + n[INDETERMINATE]
    if not low <= found <= high:
        p.add(check, f"{what}: {found} in the store, journal {dict(n)}")


def check(
    journal: list[Entry],
    kills: list[Kill],
    accounts: dict[int, int],
    views: dict[int, dict[str, Any]],
    db: Stored,
    settled: tuple[bool, float, dict[str, int]],
    log_text: str,
) -> Problems:
    """Every check of CHECKS against the journal, the kills, each client's final view
    (`views`, by client number), the store, the wait for settling and the server's log.
    `accounts` maps client numbers to account ids."""
    p = Problems()
    for k in kills:
        if not k.in_flight:
            p.add("in_flight_at_each_kill", f"kill at {k.at} s: nothing pending or running")
    if not settled[0]:
        p.add("settled", f"still in flight after {settled[1]} s: {settled[2]}")
    for e in journal:
        if e.status is not None and e.status >= 500:
            p.add("no_5xx", f"{e.action} -> {e.status}: {e.detail}")
        if e.detail and LOCKED in e.detail:
            p.add("no_database_locked", f"answer to {e.action} (client {e.client}, #{e.seq})")
    for line in log_text.splitlines():
        if LOCKED in line:
            p.add("no_database_locked", f"server log: {line[:300]}")
        if "Traceback" in line or "ERROR" in line:
            p.add("no_errors_logged", line[:300])
    for op in db.operations:
        if op["state"] == "failed":
            p.add("no_failed_operations", f"{op['kind']} of instance {op['instance_id']}")
    if db.integrity != ["ok"]:
        p.add("integrity", f"integrity_check: {db.integrity[:5]}")
    if db.foreign_keys:
        p.add("integrity", f"{db.foreign_keys} rows fail foreign_key_check")

    client_of = {account: n for n, account in accounts.items()}
    ops = Counter((o["kind"], o["instance_id"], o["snapshot_id"]) for o in db.operations)
    ops_of_instance = Counter((o["kind"], o["instance_id"]) for o in db.operations)
    _instances(p, journal, client_of, views, db, ops, ops_of_instance)
    _snapshots(p, journal, client_of, views, db, ops)
    _keys(p, journal, client_of, views, db)
    for table, rows in (
        ("instances", db.instances),
        ("keys", db.keys),
        ("snapshots", db.snapshots),
    ):
        for (account, name), n in Counter((r["account_id"], r["name"]) for r in rows).items():
            if n > 1:
                p.add("names_unique", f"{table}: account {account} holds {n} named {name!r}")
    _addresses(p, db)
    return p


def _named(journal: list[Entry], action: str) -> dict[tuple[int, str], list[Entry]]:
    out: dict[tuple[int, str], list[Entry]] = defaultdict(list)
    for e in journal:
        if e.action == action and e.name is not None:
            out[(e.client, e.name)].append(e)
    return out


def _instances(
    p: Problems,
    journal: list[Entry],
    client_of: dict[int, int],
    views: dict[int, dict[str, Any]],
    db: Stored,
    ops: Counter[tuple[str, int, int | None]],
    ops_of_instance: Counter[tuple[str, int]],
) -> None:
    creates = _named(journal, "create")
    rows = defaultdict(list)
    for r in db.instances:
        rows[(client_of[r["account_id"]], r["name"])].append(r)
    for key, entries in creates.items():
        expect_once(p, "instances", f"instance {key[1]!r}", entries, len(rows.get(key, [])))
        for e in entries:
            if e.outcome == ACCEPTED and rows.get(key) and rows[key][0]["id"] != e.instance:
                p.add("instances", f"{key[1]!r}: answered id {e.instance}, stored {rows[key]}")
    for key in rows.keys() - creates.keys():
        p.add("instances", f"{key[1]!r} of client {key[0]}: in the store, never asked for")

    commands: dict[int, list[Entry]] = defaultdict(list)
    for e in journal:
        if e.action in COMMANDS and e.instance is not None:
            commands[e.instance].append(e)
    for r in db.instances:
        iid, n = r["id"], client_of[r["account_id"]]
        if ops[("provision", iid, None)] != 1:
            p.add("commands_once", f"instance {iid}: {ops[('provision', iid, None)]} provisions")
        sent = commands.get(iid, [])
        for kind in COMMANDS:
            mine = [e for e in sent if e.action == kind]
            expect_once(
                p, "commands_once", f"instance {iid} {kind}", mine, ops_of_instance[(kind, iid)]
            )
        # The last command applied decides; an indeterminate one after the last accepted
        # one may or may not have been.
        possible = {"Stopped"}
        for e in sorted(sent, key=lambda e: e.seq):
            if e.outcome == ACCEPTED:
                possible = {SETTLES_TO[e.action]}
            elif e.outcome == INDETERMINATE:
                possible.add(SETTLES_TO[e.action])
        listed = {i["id"]: i["instancestatus"] for i in views[n]["instances"]}
        shown = listed.get(iid, "removed")
        if shown not in possible:
            p.add("instances", f"instance {iid}: {shown}, expected one of {sorted(possible)}")
        if (shown == "removed") != (r["removed_at"] is not None):
            p.add("instances", f"instance {iid}: listed {shown}, removed_at {r['removed_at']}")


def _snapshots(
    p: Problems,
    journal: list[Entry],
    client_of: dict[int, int],
    views: dict[int, dict[str, Any]],
    db: Stored,
    ops: Counter[tuple[str, int, int | None]],
) -> None:
    takes = _named(journal, "snapshot")
    rows = defaultdict(list)
    for r in db.snapshots:
        rows[(client_of[r["account_id"]], r["name"])].append(r)
    for key, entries in takes.items():
        expect_once(p, "snapshots", f"snapshot {key[1]!r}", entries, len(rows.get(key, [])))
    for key in rows.keys() - takes.keys():
        p.add("snapshots", f"{key[1]!r} of client {key[0]}: in the store, never asked for")
    deletes: dict[int, list[Entry]] = defaultdict(list)
    for e in journal:
        if e.action == "delete_snapshot" and e.snapshot is not None:
            deletes[e.snapshot].append(e)
    for r in db.snapshots:
        sid, iid, n = r["id"], r["instance_id"], client_of[r["account_id"]]
        if ops[("snapshot", iid, sid)] != 1:
            p.add("commands_once", f"snapshot {sid}: taken {ops[('snapshot', iid, sid)]} times")
        mine = deletes.get(sid, [])
        expect_once(
            p, "commands_once", f"snapshot {sid} delete", mine, ops[("delete_snapshot", iid, sid)]
        )
        outcomes = by_outcome(mine)
        if outcomes[ACCEPTED] and r["deleted_at"] is None:
            p.add("snapshots", f"snapshot {sid}: deletion accepted, still there")
        if not outcomes[ACCEPTED] and not outcomes[INDETERMINATE] and r["deleted_at"] is not None:
            p.add("snapshots", f"snapshot {sid}: deleted, never asked for")
        listed = views[n]["snapshots"].get(iid)
        if listed is None:
            continue  # its instance is gone, and its snapshots with it
        shown = {s["id"]: s["status"] for s in listed}
        if (sid in shown) == (r["deleted_at"] is not None):
            p.add(
                "snapshots", f"snapshot {sid}: listed {sid in shown}, deleted_at {r['deleted_at']}"
            )
        if sid in shown and shown[sid] != "created":
            p.add("snapshots", f"snapshot {sid}: {shown[sid]}, expected created")


def _keys(
    p: Problems,
    journal: list[Entry],
    client_of: dict[int, int],
    views: dict[int, dict[str, Any]],
    db: Stored,
) -> None:
    creates = _named(journal, "create_key")
    deletes = _named(journal, "delete_key")
    rows = defaultdict(list)
    for r in db.keys:
        rows[(client_of[r["account_id"]], r["name"])].append(r)
    listed = {(n, k["name"]) for n, v in views.items() for k in v["keys"]}
    for key, entries in creates.items():
        found = rows.get(key, [])
        gone = by_outcome(deletes.get(key, []))
        if gone[ACCEPTED] or gone[INDETERMINATE]:
            if len(found) > 1:
                p.add("ssh_keys", f"key {key[1]!r}: {len(found)} in the store")
            if gone[ACCEPTED] and (found or key in listed):
                p.add("ssh_keys", f"key {key[1]!r}: deletion accepted, still there")
            continue
        expect_once(p, "ssh_keys", f"key {key[1]!r}", entries, len(found))
        if bool(found) != (key in listed):
            p.add("ssh_keys", f"key {key[1]!r}: {len(found)} stored, listed {key in listed}")
        for e in entries:
            if e.outcome == ACCEPTED and found and found[0]["id"] != e.key:
                p.add("ssh_keys", f"key {key[1]!r}: answered id {e.key}, stored {found}")
    for key in rows.keys() - creates.keys():
        p.add("ssh_keys", f"{key[1]!r} of client {key[0]}: in the store, never asked for")


def _addresses(p: Problems, db: Stored) -> None:
    live = {r["id"]: r for r in db.instances if r["removed_at"] is None}
    holders: dict[Any, list[int]] = defaultdict(list)
    for r in live.values():
        for value in (r["ipaddress"], r["secondary_ip"]):
            if value:
                holders[ipaddress.ip_address(value)].append(r["id"])
    for address, ids in holders.items():
        if len(ids) > 1:
            p.add("addresses", f"{address} shown by instances {ids}")
    reserved: dict[int, set[Any]] = defaultdict(set)
    all_ids = {r["id"] for r in db.instances}
    for a in db.addresses:
        iid = a["instance_id"]
        reserved[iid].add(ipaddress.ip_address(a["address"]))
        if iid in all_ids and iid not in live:
            p.add("addresses", f"{a['address']} still held by removed instance {iid}")
    for iid, r in live.items():
        shown = {ipaddress.ip_address(t) for t in (r["ipaddress"], r["secondary_ip"]) if t}
        if shown != reserved.get(iid, set()):
            p.add("addresses", f"instance {iid} shows {shown}, holds {reserved.get(iid)}")
