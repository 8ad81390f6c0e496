"""Issue 11: nothing lost under faults.

`--clients` clients, one account each, send a mixed load to a real `aiiro serve` for
`--seconds`: SSH keys created and deleted, instances created with a key, started,
stopped, force-stopped, snapshotted and destroyed, snapshots deleted, lists read. The
server runs the `fast` profile (each step takes about a second, so operations are under
way at any moment) and is killed with SIGKILL `--kills` times, evenly spread, and started
again on the same data directory and port. Right after each kill, the store says how many
operations the dead server left pending or running: a kill with none would prove nothing.

Every request is journalled on the client side with its outcome: `accepted` (2xx),
`refused` (any other answer, with its Indigo code), `unsent` (no connection: it never
reached the server) or `indeterminate` (the connection broke after the request went out;
no client retries). Once no operation is pending or running, the final state (the API's lists and
the store) is checked against the journal (bench/chaos_checks.py; `CHECKS` there names
each check). The JSON
summary goes to stdout; the exit status is 1 when a check fails, and stderr names it.

Usage: python bench/chaos.py [--clients 32] [--seconds 120] [--kills 2] [--seed N]
                             [--keep DIR] [--database-url URL]
`--seed` repeats the clients' choices (not the timing, hence not the run).
`--database-url` is the server's store (default: SQLite in its data directory); the
checks read it through SQLAlchemy, read-only on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

# The one home of "a real `aiiro serve` that can be killed and started again" is the
# acceptance tests' server module; the repository root makes it importable from here.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from bench.chaos_checks import (  # noqa: E402
    ACCEPTED,
    CHECKS,
    INDETERMINATE,
    LOCKED,
    REFUSED,
    UNSENT,
    Entry,
    Kill,
    Problems,
    Stored,
    by_outcome,
    check,
    counts,
    read_store,
    store,
)
from tests.acceptance.server import AiiroServer  # noqa: E402

VM = "/webarenaIndigo/v1/vm"
DISK = "/webarenaIndigo/v1/disk"
REGION, OS_DEBIAN12, PLAN_DUAL = 1, 22, 1  # plan 1: an IPv4 and an IPv6 address each
MAX_LIVE = 4  # instances a client keeps; beyond that it prefers destroying
KEY_POOL = 4  # distinct public keys (RSA generation is slow; the server allows repeats)
SLOTS = 5
DOWN_S = 0.5  # between a kill and the restart: clients meet refused connections
SETTLE_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 60.0  # above SQLite's 30 s busy timeout: a lock wait shows as its answer
IN_FLIGHT_SQL = (
    "SELECT state, COUNT(*) FROM operations WHERE state IN ('pending','running') GROUP BY state"
)


@dataclass
class Run:
    server: AiiroServer
    started: float
    journal: list[Entry] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.started

    @property
    def store_url(self) -> str:
        return self.server.database_url or f"sqlite:///{self.server.data_dir / 'aiiro.db'}"


# --- the clients -------------------------------------------------------------------------


class Client:
    """One account's client: sequential requests, each choice from its last lists."""

    def __init__(
        self, run: Run, n: int, key: str, secret: str, public_keys: list[str], seed: int
    ) -> None:
        self.run, self.n = run, n
        self.credentials = {
            "grantType": "client_credentials",
            "clientId": key,
            "clientSecret": secret,
        }
        self.public_keys = public_keys
        self.rand = random.Random(f"{seed}:{n}")
        self.http = httpx.AsyncClient(base_url=run.server.base_url, timeout=REQUEST_TIMEOUT_S)
        self.seq = 0
        self.instances: dict[int, str] = {}  # id -> instancestatus, as last listed
        self.destroyed: set[int] = set()  # listed "Stopped" until removed: leave them be
        self.keys: list[int] = []  # as last listed, oldest first

    async def sign_in(self) -> None:
        r = await self.http.post("/oauth/v1/accesstokens", json=self.credentials)
        r.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {r.json()['accessToken']}"

    async def call(
        self, action: str, method: str, path: str, body: Any = None, **ids: Any
    ) -> tuple[Entry, Any]:
        """Send one request and journal it; the parsed answer of a 2xx, else None."""
        self.seq += 1
        entry = Entry(self.n, self.seq, action, round(self.run.now(), 3), **ids)
        self.run.journal.append(entry)
        sent = time.monotonic()
        try:
            r = await self.http.request(
                method, path, content=None if body is None else json.dumps(body)
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            entry.outcome, entry.detail = UNSENT, type(exc).__name__
            return entry, None
        except httpx.TransportError as exc:
            entry.outcome, entry.detail = INDETERMINATE, type(exc).__name__
            return entry, None
        entry.ms = round((time.monotonic() - sent) * 1000, 1)
        entry.status = r.status_code
        if r.status_code >= 500 or LOCKED in r.text:
            entry.detail = r.text[:500]
        if r.status_code < 300:
            entry.outcome = ACCEPTED
            return entry, r.json()
        entry.outcome = REFUSED
        with contextlib.suppress(ValueError, AttributeError):
            entry.code = str(r.json().get("errorCode"))
        return entry, None

    async def loop(self, until: float) -> None:
        while self.run.now() < until:
            entry, listed = await self.call("list_instances", "GET", f"{VM}/getinstancelist")
            if listed is None:
                await asyncio.sleep(0.1 if entry.outcome == UNSENT else 0)
                continue
            self.instances = {i["id"]: i["instancestatus"] for i in listed}
            if not self.keys:
                await self.list_keys()
            await self.act()

    async def act(self) -> None:
        """One change, picked at random among those that make sense for what was listed
        (the list may be stale: refusals are part of the load)."""
        live = len(self.instances)
        choices: list[tuple[float, Any]] = [
            (3.0 if len(self.keys) < 2 else 0.3, self.create_key),
            (1.0 if len(self.keys) > 3 else 0.1, self.delete_key),
        ]
        if self.keys and live < MAX_LIVE:
            choices.append((2.0, self.create_instance))
        for iid, text in self.instances.items():
            if iid in self.destroyed:
                continue
            if text == "Stopped":
                destroy = 1.0 if live >= MAX_LIVE else 0.3
                choices += [
                    (1.0, self.command(iid, "start")),
                    (destroy, self.command(iid, "destroy")),
                ]
            elif text == "Running":
                choices += [
                    (1.0, self.command(iid, "stop")),
                    (0.6, self.command(iid, "forcestop")),
                ]
            else:
                continue
            choices += [(0.4, self.snapshot(iid)), (0.3, self.delete_snapshot(iid))]
        weights, actions = zip(*choices, strict=True)
        await self.rand.choices(actions, weights)[0]()

    def name(self, kind: str) -> str:
        return f"chaos{self.n}-{kind}{self.seq + 1}"

    async def list_keys(self) -> list[dict[str, Any]]:
        _, data = await self.call("list_keys", "GET", f"{VM}/sshkey")
        keys: list[dict[str, Any]] = data["sshkeys"] if data else []
        if data:
            self.keys = [k["id"] for k in keys]
        return keys

    async def create_key(self) -> None:
        name = self.name("key")
        body = {"sshName": name, "sshKey": self.rand.choice(self.public_keys)}
        entry, data = await self.call("create_key", "POST", f"{VM}/sshkey", body, name=name)
        if data:
            entry.key = data["sshKey"]["id"]
            self.keys.append(data["sshKey"]["id"])

    async def delete_key(self) -> None:
        keys = await self.list_keys()
        if keys:
            k = keys[0]
            await self.call(
                "delete_key", "DELETE", f"{VM}/sshkey/{k['id']}", key=k["id"], name=k["name"]
            )
            self.keys = [i for i in self.keys if i != k["id"]]

    async def create_instance(self) -> None:
        name = self.name("vm")
        body = {
            "sshKeyId": self.rand.choice(self.keys),
            "regionId": REGION,
            "osId": OS_DEBIAN12,
            "instancePlan": PLAN_DUAL,
            "instanceName": name,
        }
        entry, data = await self.call("create", "POST", f"{VM}/createinstance", body, name=name)
        if data:
            entry.instance = data["vms"]["id"]

    def command(self, iid: int, status: str) -> Any:
        async def send() -> None:
            body = {"instanceId": iid, "status": status}
            entry, _ = await self.call(
                status, "POST", f"{VM}/instance/statusupdate", body, instance=iid
            )
            if status == "destroy" and entry.outcome == ACCEPTED:
                self.destroyed.add(iid)

        return send

    async def list_snapshots(self, iid: int) -> list[dict[str, Any]]:
        _, data = await self.call(
            "list_snapshots", "GET", f"{DISK}/snapshotlist/{iid}", instance=iid
        )
        return data or []

    def snapshot(self, iid: int) -> Any:
        async def take() -> None:
            used = {s["slot_number"] for s in await self.list_snapshots(iid)}
            free = [n for n in range(SLOTS) if n not in used] or [0]
            name = self.name("snap")
            body = {"name": name, "instanceid": iid, "slotnum": self.rand.choice(free)}
            await self.call(
                "snapshot", "POST", f"{DISK}/takesnapshot", body, instance=iid, name=name
            )

        return take

    def delete_snapshot(self, iid: int) -> Any:
        async def delete() -> None:
            done = [s for s in await self.list_snapshots(iid) if s["status"] == "created"]
            if done:
                s = self.rand.choice(done)
                await self.call(
                    "delete_snapshot",
                    "DELETE",
                    f"{DISK}/deletesnapshot/{s['id']}",
                    instance=iid,
                    snapshot=s["id"],
                    name=s["name"],
                )

        return delete

    async def final_view(self) -> dict[str, Any]:
        """What the account sees once everything has settled (no journal: not load)."""
        instances = (await self.http.get(f"{VM}/getinstancelist")).raise_for_status().json()
        keys = (await self.http.get(f"{VM}/sshkey")).raise_for_status().json()["sshkeys"]
        snapshots = {}
        for i in instances:
            r = await self.http.get(f"{DISK}/snapshotlist/{i['id']}")
            snapshots[i["id"]] = r.raise_for_status().json()
        return {"instances": instances, "keys": keys, "snapshots": snapshots}


# --- the faults --------------------------------------------------------------------------


def kill_and_restart(run: Run, serve_args: list[str]) -> Kill:
    """SIGKILL the server; read from the store what the kill left in flight (what the
    restarted server must finish, neither losing nor repeating any of it); start it again
    on the same data directory and port."""
    at = round(run.now(), 3)
    run.server.kill()
    down = time.monotonic()
    engine = store(run.store_url)
    try:
        in_flight = counts(engine, IN_FLIGHT_SQL)
        powers = counts(
            engine, "SELECT power, COUNT(*) FROM instances WHERE removed_at IS NULL GROUP BY power"
        )
    finally:
        engine.dispose()
    time.sleep(max(0.0, DOWN_S - (time.monotonic() - down)))
    run.server.start(*serve_args, port=run.server.port)
    return Kill(at, in_flight, powers, round(time.monotonic() - down, 3))


async def faults(run: Run, seconds: float, kills: int, serve_args: list[str]) -> None:
    for i in range(kills):
        await asyncio.sleep(max(0.0, seconds * (i + 1) / (kills + 1) - run.now()))
        run.kills.append(await asyncio.to_thread(kill_and_restart, run, serve_args))


def wait_settled(run: Run) -> tuple[bool, float, dict[str, int]]:
    began = time.monotonic()
    engine = store(run.store_url)
    try:
        while True:
            left = counts(engine, IN_FLIGHT_SQL)
            waited = time.monotonic() - began
            if not left or waited > SETTLE_TIMEOUT_S:
                return not left, round(waited, 2), left
            time.sleep(0.25)
    finally:
        engine.dispose()


# --- the run -----------------------------------------------------------------------------


async def _drive(
    run: Run, clients: list[Client], seconds: float, kills: int, serve_args: list[str]
) -> tuple[float, tuple[bool, float, dict[str, int]], dict[int, dict[str, Any]]]:
    """The load with its faults; then, once settled, what each account sees."""
    for c in clients:
        await c.sign_in()
    run.started = time.monotonic()
    await asyncio.gather(
        faults(run, seconds, kills, serve_args), *(c.loop(seconds) for c in clients)
    )
    load_s = run.now()
    settled = await asyncio.to_thread(wait_settled, run)
    views = await asyncio.gather(*(c.final_view() for c in clients))
    for c in clients:
        await c.http.aclose()
    return load_s, settled, {c.n: v for c, v in zip(clients, views, strict=True)}


def make_accounts(server: AiiroServer, count: int) -> list[dict[str, Any]]:
    auth = {"Authorization": f"Bearer {server.admin_token}"}
    with httpx.Client(base_url=server.base_url, headers=auth, timeout=30) as http:
        return [
            http.post("/_aiiro/accounts", json={"name": f"chaos-{n}"}).raise_for_status().json()
            for n in range(count)
        ]


def percentile(values: list[float], q: int) -> float | None:
    if len(values) < 2:
        return None
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


def run(
    clients: int = 32,
    seconds: float = 120.0,
    kills: int = 2,
    workdir: Path | None = None,
    seed: int | None = None,
    database_url: str | None = None,
) -> dict[str, Any]:
    """The whole check; returns the summary (its `ok` is False if any check failed).
    `database_url`: the server's store (None: SQLite in its data directory)."""
    seed = secrets.randbits(32) if seed is None else seed
    with _workdir(workdir) as work:
        started = time.time()
        machine = harness.machine()
        serve_args = ["--profile", "fast", "--no-quota"]
        server = AiiroServer(
            work / "data", admin_token=secrets.token_hex(16), database_url=database_url
        )
        with server:
            server.start(*serve_args)
            made = make_accounts(server, clients)
            accounts = {n: a["account"]["id"] for n, a in enumerate(made)}
            keys = harness.rsa_public_keys(KEY_POOL)
            r = Run(server, time.monotonic())
            cs = [Client(r, n, a["apiKey"], a["apiSecret"], keys, seed) for n, a in enumerate(made)]
            load_s, settled, views = asyncio.run(_drive(r, cs, seconds, kills, serve_args))
            server.stop()
        with (work / "journal.jsonl").open("w") as f:
            f.writelines(json.dumps(asdict(e)) + "\n" for e in r.journal)
        logs = "\n".join(p.read_text(errors="replace") for p in sorted(work.glob("serve-*.log")))
        db = read_store(r.store_url, list(accounts.values()))
        problems = check(r.journal, r.kills, accounts, views, db, settled, logs)
        summary = _summary(r, clients, seconds, load_s, settled, db, problems)
        summary["seed"] = seed
        summary["machine"] = machine
        summary["wall_s"] = round(time.time() - started, 1)
        if workdir is not None:
            summary["kept"] = str(work)
        return summary


@contextlib.contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="aiiro-chaos-") as tmp:
        yield Path(tmp)


def _summary(
    r: Run,
    clients: int,
    seconds: float,
    load_s: float,
    settled: tuple[bool, float, dict[str, int]],
    db: Stored,
    problems: Problems,
) -> dict[str, Any]:
    journal = r.journal
    answered = [e.ms for e in journal if e.ms is not None]
    changes = [e for e in journal if not e.action.startswith("list_")]
    checks = problems.summary()
    return {
        "clients": clients,
        "seconds": seconds,
        "profile": "fast",
        "database": r.store_url.partition(":")[0].partition("+")[0],
        "requests": {
            "total": len(journal),
            "per_s": round(len(journal) / load_s, 1) if load_s else None,
            "by_outcome": dict(by_outcome(journal)),
            "changes_by_action": {
                a: dict(by_outcome([e for e in changes if e.action == a]))
                for a in sorted({e.action for e in changes})
            },
            "status": dict(sorted(Counter(e.status for e in journal if e.status).items())),
            "refusal_codes": dict(Counter(e.code for e in journal if e.code).most_common()),
            "latency_ms": {
                "p50": percentile(answered, 50),
                "p99": percentile(answered, 99),
                "max": max(answered, default=None),
            },
        },
        "kills": [asdict(k) for k in r.kills],
        "settled_after_s": settled[1],
        "store": {
            "instances": len(db.instances),
            "instances_removed": sum(1 for i in db.instances if i["removed_at"] is not None),
            "ssh_keys": len(db.keys),
            "snapshots": len(db.snapshots),
            "operations": dict(Counter(o["state"] for o in db.operations)),
        },
        "checks": checks,
        "ok": all(c["ok"] for c in checks.values()),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--seconds", type=float, default=120.0, help="length of the load")
    p.add_argument("--kills", type=int, default=2, help="SIGKILLs, evenly spread")
    p.add_argument("--seed", type=int, help="the clients' choices (default: a random one)")
    p.add_argument("--keep", type=Path, help="keep data, server logs and journal here")
    p.add_argument(
        "--database-url", help="the server's store (default: SQLite in its data directory)"
    )
    a = p.parse_args()
    summary = run(a.clients, a.seconds, a.kills, a.keep, a.seed, a.database_url)
    harness.print_json(summary)
    failed = [name for name, c in summary["checks"].items() if not c["ok"]]
    if failed:
        for name in failed:
            print(f"FAILED {name}: {CHECKS[name]}", file=sys.stderr)
            for text in summary["checks"][name]["first"]:
                print(f"  {text}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
