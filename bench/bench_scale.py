"""Issue 13 (point 6): aiiro on PostgreSQL, beyond one process.

Every case runs on a fresh schema of the PostgreSQL database (harness.postgres_url()),
dropped at the end, also on failure.

  api_processes   requests/s of the polled endpoints (token issue; the SSH-key list, 20
                  keys; getinstancelist, 100 instances) with `aiiro serve --workers 1, 2
                  and 4`, the three servers measured alternately, round by round.
                  Target: 2 processes >= 1.6x the requests/s of 1.
  workers         `aiiro serve --no-engine` plus 1 or 2 `aiiro worker` processes, profile
                  instant: N createinstance sent while the workers are paused (SIGSTOP),
                  then the workers resumed and timed until no operation is left to run and
                  every instance is Stopped. A figure: operations finished per second.
  list_1000       getinstancelist of an account with 1,000 instances against a bare
                  Starlette endpoint serving the same bytes. Target: >= 50%.
  large_database  one account's list (100 instances) in a database that holds only it,
                  then after 99 more accounts with 100 instances each (10,000 in all): the
                  list's render as the endpoint does it after a change (the query and the
                  JSON, in-process, median of many), its query plan, and requests/s through
                  the server. Target: the render no slower than in the small database
                  (ratio >= 0.9, within the noise).
Usage: python bench/bench_scale.py [--duration S] [--rounds N] [--connections C]
                                   [--operations N]
                                   [--only api_processes,workers,list_1000,large_database]
Stop it with Ctrl-C (SIGINT): its servers are stopped and its schemas dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bench_instances
import harness

SPEEDUP_TARGET = 1.6
LIST_TARGET = 0.5
LARGE_DB_TARGET = 0.9
PROCESSES = (1, 2, 4)
SSHKEY_COUNT = 20
POLLED_INSTANCES = 100
SSHKEY_PATH = "/webarenaIndigo/v1/vm/sshkey"
TOKEN_PATH = "/oauth/v1/accesstokens"
LIST_PATH = bench_instances.LIST_PATH
CREATE_PATH = bench_instances.CREATE_PATH
OTHER_ACCOUNTS = 99
WORKER_READY_TIMEOUT_S = 60.0
SETTLE_TIMEOUT_S = 300.0


# --- setup ---------------------------------------------------------------------------------


def pg_server(url: str, args: tuple[str, ...] = ()) -> contextlib.AbstractContextManager[Any]:
    return harness.aiiro_server(profile="instant", env={"AIIRO_DATABASE_URL": url}, args=args)


def add_keys(server: harness.Server, auth: dict[str, str], keys: list[str]) -> int:
    """The SSH keys, by name bench-key-NN; the id of the first."""
    first = 0
    for i, key in enumerate(keys):
        body = json.dumps({"sshName": f"bench-key-{i:02d}", "sshKey": key}).encode()
        r = harness.http("POST", server.base_url + SSHKEY_PATH, body, auth)
        if r.status != 201:
            raise RuntimeError(f"creating an SSH key failed: {r.status} {r.body[:200]!r}")
        first = first or r.json()["sshKey"]["id"]
    return first


def create_load(auth: dict[str, str], sshkey_id: int) -> harness.Load:
    body = json.dumps(
        {
            "sshKeyId": sshkey_id,
            "regionId": bench_instances.REGION_TOKYO,
            "osId": bench_instances.OS_DEBIAN12,
            "instancePlan": bench_instances.PLAN_DUAL,
            "instanceName": "bench",
        }
    ).encode()
    return harness.Load("POST", CREATE_PATH, auth, body, expect_status=201)


def create(server: harness.Server, load: harness.Load, count: int) -> dict[str, Any]:
    started = time.perf_counter()
    made = harness.run_count(server.base_url, load, 4, count)
    if not made["ok"]:
        raise RuntimeError(f"creating instances failed: {made}")
    made["seconds"] = round(time.perf_counter() - started, 3)
    return made


def drained(url: str, timeout: float = SETTLE_TIMEOUT_S) -> float:
    """Wait until the database holds no operation pending or running (read straight from
    it: polling the list of 1,000 instances would render it each time); the seconds
    waited."""
    from sqlalchemy import create_engine, text

    db = create_engine(url)
    started = time.perf_counter()
    try:
        while True:
            with db.connect() as conn:
                left = conn.execute(
                    text("SELECT count(*) FROM operations WHERE state IN ('pending', 'running')")
                ).scalar_one()
            waited = time.perf_counter() - started
            if not left:
                return waited
            if waited > timeout:
                raise RuntimeError(f"{left} operations still to run after {timeout} s")
            time.sleep(0.01)
    finally:
        db.dispose()


def token_load(server: harness.Server) -> harness.Load:
    body = json.dumps(
        {
            "grantType": "client_credentials",
            "clientId": server.extra["api_key"],
            "clientSecret": server.extra["api_secret"],
            "code": "",
        }
    ).encode()
    return harness.Load("POST", TOKEN_PATH, {"Content-Type": "application/json"}, body, 201)


def process_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of a process and of each of its descendants, by pid."""
    out: dict[int, float] = {}
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError, ValueError):
            out[current] = harness.cpu_seconds(current)
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
    return out


def postgres_cpu_seconds() -> float:
    """CPU seconds of every PostgreSQL process on this machine (the database server shares
    the cores with aiiro and the load generator); 0 where it runs elsewhere."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                if (proc / "comm").read_text().strip() == "postgres":
                    total += harness.cpu_seconds(int(proc.name))
    return total


# --- requests/s with 1, 2 and 4 API processes ----------------------------------------------


def api_processes(duration: float, rounds: int, connections: int) -> dict[str, Any]:
    keys = harness.rsa_public_keys(SSHKEY_COUNT)
    with contextlib.ExitStack() as stack:
        servers: dict[int, tuple[harness.Server, dict[str, harness.Load]]] = {}
        for n in PROCESSES:
            url = stack.enter_context(harness.postgres_schema())
            server = stack.enter_context(pg_server(url, ("--workers", str(n))))
            auth = {"Authorization": f"Bearer {harness.token(server)}"}
            first_key = add_keys(server, auth, keys)
            create(server, create_load(auth, first_key), POLLED_INSTANCES)
            drained(url)
            bench_instances.settled(server, auth, POLLED_INSTANCES)
            servers[n] = (
                server,
                {
                    "token_issue": token_load(server),
                    "sshkey_list_20_keys": harness.Load("GET", SSHKEY_PATH, auth),
                    f"getinstancelist_{POLLED_INSTANCES}": harness.Load("GET", LIST_PATH, auth),
                },
            )
        cases: dict[str, Any] = {}
        for case in servers[1][1]:
            runs: dict[int, list[dict[str, Any]]] = {n: [] for n in PROCESSES}
            for server, loads in servers.values():
                harness.check_once(server.base_url, loads[case])
                harness.run_load(server.base_url, loads[case], connections, 1.0)
            for _ in range(rounds):
                for n, (server, loads) in servers.items():
                    runs[n].append(measure_spread(server, loads[case], connections, duration))
            cases[case] = speedups(runs)
    return {"processes": list(PROCESSES), "cases": cases}


def measure_spread(
    server: harness.Server, load: harness.Load, connections: int, duration: float
) -> dict[str, Any]:
    """harness.measure, plus how the server's CPU time fell on its processes (uvicorn's
    workers share one listening socket: the kernel decides who accepts a connection)."""
    before, postgres_before = process_cpu(server.proc.pid), postgres_cpu_seconds()
    result = harness.measure(server, load, connections, duration)
    after, postgres_used = process_cpu(server.proc.pid), postgres_cpu_seconds() - postgres_before
    result["postgres_cpu_us_per_request"] = (
        round(postgres_used / result["requests"] * 1e6, 1) if result["requests"] else None
    )
    used = sorted((after[p] - before.get(p, 0.0) for p in after), reverse=True)
    result["process_cpu_s"] = [round(x, 2) for x in used if x > 0.005]
    # A process that is gone took its CPU time with it: uvicorn's supervisor kills and
    # replaces a worker that does not answer its health check within 5 s.
    result["processes_replaced"] = len(before.keys() - after.keys())
    per_request = (
        (result["cpu_us_per_request"] or 0)
        + (result["loadgen_cpu_us_per_request"] or 0)
        + (result["postgres_cpu_us_per_request"] or 0)
    )
    # Cores kept busy by aiiro, the load generator and PostgreSQL together (of the
    # machine's os.cpu_count()); the rest went to other work on the machine.
    result["cores_busy"] = round(result["rps"] * per_request / 1e6, 2)
    return result


def speedups(runs: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n, results in runs.items():
        summary = harness.summarise(results)
        summary["cores_busy"] = statistics.median(r["cores_busy"] for r in results)
        summary["postgres_cpu_us_per_request"] = statistics.median(
            r["postgres_cpu_us_per_request"] or 0 for r in results
        )
        summary["process_cpu_s"] = [r["process_cpu_s"] for r in results]
        summary["processes_replaced"] = sum(r["processes_replaced"] for r in results)
        out[f"processes_{n}"] = summary
    # What CPU time alone allows on this machine's cores, from the CPU each request cost
    # aiiro, the load generator and PostgreSQL: one process can use one core at most; the
    # three together, all of them.
    cores = os.cpu_count() or 1

    def ceiling(n: int) -> float | None:
        figures = out[f"processes_{n}"]
        server = figures["cpu_us_per_request"]
        others = (figures["loadgen_cpu_us_per_request"] or 0.0) + figures[
            "postgres_cpu_us_per_request"
        ]
        if not server or server <= 0:
            return None
        return min(min(n, cores) * 1e6 / server, cores * 1e6 / (server + others))

    for n in PROCESSES[1:]:
        ratios = [a["rps"] / b["rps"] for a, b in zip(runs[n], runs[1], strict=True) if b["rps"]]
        out[f"speedup_{n}"] = round(statistics.median(ratios), 3) if ratios else None
        out[f"round_speedups_{n}"] = [round(r, 3) for r in ratios]
        one, many = ceiling(1), ceiling(n)
        out[f"cpu_ceiling_speedup_{n}"] = round(many / one, 3) if one and many else None
    out["target_speedup_2"] = SPEEDUP_TARGET
    out["meets_target"] = (out.get("speedup_2") or 0) >= SPEEDUP_TARGET
    return out


# --- operations/s with 1 and 2 workers -------------------------------------------------------


@contextlib.contextmanager
def aiiro_workers(url: str, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` `aiiro worker` processes on the database, each ready (its start-up line
    written) before this yields; stopped (SIGTERM) at the end."""
    with tempfile.TemporaryDirectory(prefix="aiiro-bench-worker-") as tmp:
        env = {**os.environ, "AIIRO_DATABASE_URL": url, "AIIRO_LOG_LEVEL": "warning"}
        env.pop("AIIRO_SEED", None)
        procs: list[subprocess.Popen[bytes]] = []
        logs = [Path(tmp) / f"worker-{i}.log" for i in range(count)]
        try:
            for i, log_path in enumerate(logs):
                with open(log_path, "wb") as log:
                    procs.append(
                        subprocess.Popen(
                            [
                                *harness._aiiro_command(),
                                "worker",
                                "--data-dir",
                                str(Path(tmp) / f"data-{i}"),
                            ],
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL,
                            env=env,
                        )
                    )
            deadline = time.monotonic() + WORKER_READY_TIMEOUT_S
            for proc, log_path in zip(procs, logs, strict=True):
                while "running operations" not in log_path.read_text(errors="replace"):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"worker not ready:\n{log_path.read_text()[-2000:]}")
                    time.sleep(0.05)
            yield procs
        finally:
            for proc in procs:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGCONT)
                harness._stop(proc)


def operations_once(count: int, workers: int) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    with harness.postgres_schema() as url, pg_server(url, ("--no-engine",)) as server:
        auth = {"Authorization": f"Bearer {harness.token(server)}"}
        load = create_load(auth, add_keys(server, auth, harness.rsa_public_keys(1)))
        db = create_engine(url)
        try:
            with aiiro_workers(url, workers) as procs:
                for proc in procs:
                    proc.send_signal(signal.SIGSTOP)
                made = create(server, load, count)
                before = harness.tree_cpu_seconds(server.proc.pid)
                workers_before = sum(harness.cpu_seconds(p.pid) for p in procs)
                for proc in procs:
                    proc.send_signal(signal.SIGCONT)
                elapsed = drained(url)
                workers_cpu = sum(harness.cpu_seconds(p.pid) for p in procs) - workers_before
                server_cpu = harness.tree_cpu_seconds(server.proc.pid) - before
            with db.connect() as conn:
                by_state = dict(
                    conn.execute(
                        text("SELECT state, count(*) FROM operations GROUP BY state")
                    ).all()
                )
        finally:
            db.dispose()
        bench_instances.settled(server, auth, count)  # every one listed Stopped
    done = int(by_state.get("done", 0))
    return {
        "instances": count,
        "operations": by_state,
        "seconds": round(elapsed, 3),
        "operations_per_s": round(done / elapsed, 1),
        "instances_per_s": round(count / elapsed, 1),
        "workers_cpu_s": round(workers_cpu, 2),
        "workers_cpu_ms_per_operation": round(workers_cpu / done * 1000, 2) if done else None,
        "api_cpu_s": round(server_cpu, 2),
        "create_rps": made["rps"],
    }


def workers_case(rounds: int, count: int) -> dict[str, Any]:
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for _ in range(rounds):
        for n in runs:
            runs[n].append(operations_once(count, n))
    out: dict[str, Any] = {"instances_per_run": count}
    for n, results in runs.items():
        out[f"workers_{n}"] = {
            "operations_per_s": statistics.median(r["operations_per_s"] for r in results),
            "runs": results,
        }
    ratios = [
        b["operations_per_s"] / a["operations_per_s"]
        for a, b in zip(runs[1], runs[2], strict=True)
        if a["operations_per_s"]
    ]
    out["speedup_2"] = round(statistics.median(ratios), 3)
    out["round_speedups_2"] = [round(r, 3) for r in ratios]
    return out


# --- getinstancelist of 1,000 instances against bare Starlette ------------------------------


def list_1000(duration: float, rounds: int, connections: int) -> dict[str, Any]:
    with harness.postgres_schema() as url, pg_server(url) as aiiro:
        auth = {"Authorization": f"Bearer {harness.token(aiiro)}"}
        load = create_load(auth, add_keys(aiiro, auth, harness.rsa_public_keys(1)))
        create(aiiro, load, 1000)
        drained(url)
        bench_instances.settled(aiiro, auth, 1000)
        list_load = harness.Load("GET", LIST_PATH, auth)
        listed = harness.check_once(aiiro.base_url, list_load)
        with harness.bare_server([harness.record("GET", LIST_PATH, listed)]) as bare:
            result = harness.compare(
                {"aiiro": (aiiro, list_load), "bare": (bare, list_load)},
                connections,
                duration,
                rounds,
            )
    result.update(harness.verdict(result.get("ratio"), LIST_TARGET))
    result["response_bytes"] = len(listed.body)
    return result


# --- one account's list in a database of 10,000 instances -----------------------------------


def large_database(duration: float, rounds: int, connections: int) -> dict[str, Any]:
    with harness.postgres_schema() as url, pg_server(url) as server:
        auth = {"Authorization": f"Bearer {harness.token(server)}"}
        load = create_load(auth, add_keys(server, auth, harness.rsa_public_keys(1)))
        create(server, load, POLLED_INSTANCES)
        drained(url)
        bench_instances.settled(server, auth, POLLED_INSTANCES)
        list_load = harness.Load("GET", LIST_PATH, auth)
        with renderer(url, server) as render:
            small = {
                **render(),
                "http": harness.summarise(
                    [
                        harness.measure(server, list_load, connections, duration)
                        for _ in range(rounds)
                    ]
                ),
            }
            total = grow(url, server)
            large = {
                **render(),
                "http": harness.summarise(
                    [
                        harness.measure(server, list_load, connections, duration)
                        for _ in range(rounds)
                    ]
                ),
            }
    ratio = round(small["render_ms"] / large["render_ms"], 3)
    return {
        "listed_instances": POLLED_INSTANCES,
        "instances_in_database": total,
        "small_database": small,
        "large_database": large,
        "render_ratio": ratio,
        "target_ratio": LARGE_DB_TARGET,
        "meets_target": ratio >= LARGE_DB_TARGET,
    }


def grow(url: str, server: harness.Server) -> int:
    """99 more accounts (made through the admin API), each given a copy of the first
    account's 100 instances (copied in SQL: the list reads the instances' own rows, and
    making 9,900 through the API would take minutes). Returns the instances stored."""
    from sqlalchemy import create_engine, text

    from aiiro.store.models import Instance

    admin = {"Authorization": f"Bearer {server.extra['admin_token']}"}
    ids = []
    for n in range(OTHER_ACCOUNTS):
        body = json.dumps({"name": f"bench-{n:02d}"}).encode()
        r = harness.http("POST", server.base_url + "/_aiiro/accounts", body, admin)
        if r.status != 201:
            raise RuntimeError(f"creating an account failed: {r.status} {r.body[:200]!r}")
        ids.append(r.json()["account"]["id"])
    columns = [c.name for c in Instance.__table__.columns if c.name != "id"]
    copied = ", ".join(":account" if c == "account_id" else c for c in columns)
    db = create_engine(url)
    try:
        with db.begin() as conn:
            first = conn.execute(text("SELECT min(account_id) FROM instances")).scalar_one()
            for account in ids:
                conn.execute(
                    text(
                        f"INSERT INTO instances ({', '.join(columns)}) "
                        f"SELECT {copied} FROM instances WHERE account_id = :first"
                    ),
                    {"account": account, "first": first},
                )
        with db.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM instances")).scalar_one())
    finally:
        db.dispose()


@contextlib.contextmanager
def renderer(url: str, server: harness.Server) -> Iterator[Callable[[], dict[str, Any]]]:
    """What getinstancelist does after a change (when nothing is remembered): the query
    and the JSON, in this process, on the server's database; its median time over 200
    renders, and the query's plan."""
    from sqlalchemy import select, text

    from aiiro.api import render
    from aiiro.api.instances import listed_json
    from aiiro.config import Settings
    from aiiro.domain import instances
    from aiiro.runtime import build_runtime
    from aiiro.store.models import Instance

    rt = build_runtime(Settings(database_url=url, data_dir=Path(server.extra["data_dir"])))
    with rt.db.read() as s:
        account_id = s.scalar(select(Instance.account_id).order_by(Instance.id).limit(1))
    assert account_id is not None

    def body() -> bytes:
        with rt.db.read() as s:
            rows = instances.listed_rows(s, account_id)
            return render.php_json([listed_json(rt, i, "bench") for i in rows])

    def measure() -> dict[str, Any]:
        for _ in range(20):
            body()
        times = []
        for _ in range(200):
            started = time.perf_counter()
            body()
            times.append((time.perf_counter() - started) * 1000)
        table = Instance.__table__
        query = (  # the query of instances.listed_rows
            select(table)
            .where(table.c.account_id == account_id, table.c.removed_at.is_(None))
            .order_by(table.c.id.desc())
        )
        with rt.db.read() as s:
            compiled = query.compile(s.get_bind(), compile_kwargs={"literal_binds": True})
            plan = [row[0] for row in s.execute(text(f"EXPLAIN ANALYZE {compiled}"))]
        return {
            "render_ms": round(statistics.median(times), 3),
            "render_p90_ms": round(sorted(times)[int(len(times) * 0.9)], 3),
            "plan": plan,
        }

    try:
        yield measure
    finally:
        rt.request_log.close()
        rt.db.dispose()


# --- all of it ---------------------------------------------------------------------------


def run(
    duration: float = 5.0,
    rounds: int = 3,
    connections: int = 16,
    operations_count: int = 300,
    only: tuple[str, ...] = ("api_processes", "workers", "list_1000", "large_database"),
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "bench": "scale_postgresql",
        "issue": 13,
        "loadgen": harness.loadgen_name(),
        "connections": connections,
        "duration_s": duration,
        "rounds": rounds,
        "machine": harness.machine(),
    }
    if "api_processes" in only:
        results["api_processes"] = api_processes(duration, rounds, connections)
    if "workers" in only:
        results["workers"] = workers_case(rounds, operations_count)
    if "list_1000" in only:
        results["list_1000"] = list_1000(duration, rounds, connections)
    if "large_database" in only:
        results["large_database"] = large_database(duration, rounds, connections)
    results["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measured run")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    p.add_argument("--connections", type=int, default=16, help="concurrent keep-alive clients")
    p.add_argument("--operations", type=int, default=300, help="instances per workers run")
    p.add_argument("--only", default="", help="comma-separated subset of the cases")
    a = p.parse_args()
    only = tuple(x.strip() for x in a.only.split(",") if x.strip())
    kwargs: dict[str, Any] = {"only": only} if only else {}
    harness.print_json(run(a.duration, a.rounds, a.connections, a.operations, **kwargs))


if __name__ == "__main__":
    main()
