"""Shared pieces of the benchmarks: servers, load generators, figures.

Every server binds to 127.0.0.1 on a free port, keeps its data in a temporary directory,
and is stopped when its context ends. Load runs are bounded in time; the load generator
is `wrk` when installed (it is not the bottleneck on a 2-core machine), otherwise the
asyncio client in `loadgen.py`. Results say which one ran.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PYTHON = sys.executable
STARTUP_TIMEOUT_S = 60.0


# --- small HTTP client for setup requests -----------------------------------------------


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Reply:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Reply(r.status, list(r.headers.items()), r.read())
    except urllib.error.HTTPError as e:
        return Reply(e.code, list(e.headers.items()), e.read())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- servers -----------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    base_url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _wait_healthy(server: Server, path: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited early:\n{server.log_tail()}")
        try:
            if http("GET", server.base_url + path, timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(
        f"{server.name} not healthy within {STARTUP_TIMEOUT_S}s:\n{server.log_tail()}"
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _aiiro_command() -> list[str]:
    beside = Path(PYTHON).parent / "aiiro"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("aiiro")
    if found:
        return [found]
    return [PYTHON, "-c", "from aiiro.cli.main import main; main()"]


@contextlib.contextmanager
def aiiro_server(
    profile: str = "fast",
    quota: bool = False,
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[Server]:
    """`aiiro serve` (uvicorn, one worker unless `args` say `--workers N`) on a free port
    with a fresh data directory; `env` may name a database (AIIRO_DATABASE_URL).

    `server.extra` holds the first account's `api_key`/`api_secret` and the `admin_token`.
    """
    with tempfile.TemporaryDirectory(prefix="aiiro-bench-") as tmp:
        data = Path(tmp)
        port = free_port()
        secret_file = data / "webarena_secret"
        admin_token = secrets.token_hex(16)
        cmd = [
            *_aiiro_command(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data / "data"),
            "--profile",
            profile,
            "--quota" if quota else "--no-quota",
            "--write-secret",
            str(secret_file),
            *args,
        ]
        full_env = {
            **os.environ,
            "AIIRO_ADMIN_TOKEN": admin_token,
            "AIIRO_LOG_LEVEL": "warning",
            # Lists of 1,000 instances: ten times the default limit of an account.
            "AIIRO_LIMIT_INSTANCES": "100000",
            **(env or {}),
        }
        for var in ("AIIRO_DATABASE_URL", "AIIRO_SEED"):
            if env is None or var not in env:
                full_env.pop(var, None)
        log_path = data / "server.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=full_env
            )
        server = Server("aiiro", f"http://127.0.0.1:{port}", proc, log_path)
        try:
            _wait_healthy(server, "/_aiiro/health")
            creds = _read_secret_file(secret_file)
            server.extra.update(creds, admin_token=admin_token, data_dir=str(data / "data"))
            yield server
        finally:
            _stop(proc)


POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    """The PostgreSQL database the benchmarks use: AIIRO_BENCH_POSTGRES_URL, else the
    tests' AIIRO_TEST_POSTGRES_URL, else 127.0.0.1:5432/test as user postgres."""
    return (
        os.environ.get("AIIRO_BENCH_POSTGRES_URL")
        or os.environ.get("AIIRO_TEST_POSTGRES_URL")
        or POSTGRES_URL
    )


@contextlib.contextmanager
def postgres_schema(base_url: str | None = None) -> Iterator[str]:
    """A fresh schema in the PostgreSQL database, dropped (with everything in it) at the
    end, also on failure; yields the URL whose connections use it as their search_path."""
    from sqlalchemy import create_engine, text

    base = base_url or postgres_url()
    schema = f"bench_{secrets.token_hex(6)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in base else "?"
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _read_secret_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name.strip()] = value.strip()
    return {"api_key": values["IndigoApiKey"], "api_secret": values["IndigoApiPrivateKey"]}


@dataclass
class Recorded:
    """One response to replay from the bare server: same status, headers and body."""

    method: str
    path: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "headers": self.headers,
            "body": self.body.decode("latin-1"),
        }


# Headers the server itself writes; the bare server's uvicorn adds its own.
_TRANSPORT_HEADERS = {"date", "server", "content-length", "connection", "transfer-encoding"}


def record(method: str, path: str, reply: Reply) -> Recorded:
    headers = [(k, v) for k, v in reply.headers if k.lower() not in _TRANSPORT_HEADERS]
    return Recorded(method, path, reply.status, headers, reply.body)


@contextlib.contextmanager
def bare_server(responses: list[Recorded]) -> Iterator[Server]:
    """A bare Starlette app on uvicorn (one worker, same defaults as `aiiro serve`) that
    answers each recorded route with the recorded bytes: the ceiling for a Python
    endpoint on this machine."""
    with tempfile.TemporaryDirectory(prefix="aiiro-bare-") as tmp:
        spec = Path(tmp) / "spec.json"
        spec.write_text(json.dumps([r.to_json() for r in responses]))
        port = free_port()
        log_path = Path(tmp) / "server.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [PYTHON, str(BENCH_DIR / "bare_server.py"), str(spec), str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        server = Server("bare", f"http://127.0.0.1:{port}", proc, log_path)
        try:
            _wait_healthy(server, "/_bare/health")
            yield server
        finally:
            _stop(proc)


# --- load --------------------------------------------------------------------------------


@dataclass
class Load:
    """What one load run sends: every request the same."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    expect_status: int = 200


def loadgen_name() -> str:
    return "wrk" if shutil.which("wrk") else "python-asyncio"


def run_load(base_url: str, load: Load, connections: int, duration: float) -> dict[str, Any]:
    """Hammer one endpoint for `duration` seconds with `connections` keep-alive clients.

    Returns rps, p50/p99 latency (ms), request and error counts.
    """
    if shutil.which("wrk"):
        result = _run_wrk(base_url, load, connections, duration)
    else:
        result = _run_python(base_url, load, connections, duration)
    result["ok"] = result["errors"] == 0 and result["requests"] > 0
    return result


WRK_SCRIPT = """
wrk.method = {method}
wrk.body = {body}
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"requests":%d,"duration_us":%d,"errors":%d,"bad_status":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def _run_wrk(base_url: str, load: Load, connections: int, duration: float) -> dict[str, Any]:
    headers = "\n".join(
        f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in load.headers.items()
    )
    script = WRK_SCRIPT.format(
        method=_lua_string(load.method),
        body=_lua_string(load.body.decode()) if load.body else "nil",
        headers=headers,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        script_path = f.name
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(duration))}s",
                "--timeout",
                "10s",
                "-s",
                script_path,
                base_url + load.path,
            ],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=True,
        ).stdout
    finally:
        os.unlink(script_path)
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        # wrk counts any status >= 400 as bad; a 201/200 mismatch shows in the check run.
        "errors": raw["errors"] + raw["bad_status"],
    }


def _run_python(
    base_url: str, load: Load, connections: int, duration: float, count: int | None = None
) -> dict[str, Any]:
    spec = {
        "count": count,
        "url": base_url + load.path,
        "method": load.method,
        "headers": load.headers,
        "body": load.body.decode(),
        "expect_status": load.expect_status,
        "connections": connections,
        "duration": duration,
    }
    out = subprocess.run(
        [PYTHON, str(BENCH_DIR / "loadgen.py")],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def run_count(
    base_url: str, load: Load, connections: int, count: int, timeout: float = 600.0
) -> dict[str, Any]:
    """Send exactly `count` requests over `connections` keep-alive clients (the asyncio
    generator: wrk bounds runs by time only). Returns the same figures as run_load."""
    result = _run_python(base_url, load, connections, timeout, count)
    result["ok"] = result["errors"] == 0 and result["requests"] == count
    return result


def check_once(base_url: str, load: Load) -> Reply:
    """One request before the load, so a wrong status fails loudly instead of being timed."""
    reply = http(load.method, base_url + load.path, load.body or None, load.headers)
    if reply.status != load.expect_status:
        raise RuntimeError(
            f"{load.method} {load.path}: expected {load.expect_status}, got {reply.status}: "
            f"{reply.body[:300]!r}"
        )
    return reply


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """cpu_seconds of a process and of its descendants alive now (`aiiro serve --workers
    N`: uvicorn's supervisor and its N worker processes)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            total += cpu_seconds(current)
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue  # gone meanwhile
    return total


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(server: Server, load: Load, connections: int, duration: float) -> dict[str, Any]:
    """run_load plus the server's CPU time per request (all its processes): on a machine
    shared with other work, requests/s swing with the neighbours' load, CPU per request
    much less. `loadgen_cpu_us_per_request` is the load generator's own, which shares
    the machine's cores with the server."""
    before, loadgen_before = tree_cpu_seconds(server.proc.pid), _children_cpu_seconds()
    result = run_load(server.base_url, load, connections, duration)
    used = tree_cpu_seconds(server.proc.pid) - before
    loadgen_used = _children_cpu_seconds() - loadgen_before
    requests = result["requests"]
    result["cpu_us_per_request"] = round(used / requests * 1e6, 1) if requests else None
    result["loadgen_cpu_us_per_request"] = (
        round(loadgen_used / requests * 1e6, 1) if requests else None
    )
    return result


def compare(
    servers: dict[str, tuple[Server, Load]],
    connections: int,
    duration: float,
    rounds: int,
    warmup: float = 1.0,
) -> dict[str, Any]:
    """Alternate the servers round by round (so drift in machine load hits both alike) and
    report medians. `ratio` is the median of the per-round aiiro/bare throughput ratios;
    `cpu_ratio` is bare's CPU time per request over aiiro's, the throughput ratio the two
    would show with a core each to themselves."""
    per: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    for server, load in servers.values():
        check_once(server.base_url, load)
        run_load(server.base_url, load, connections, warmup)
    for _ in range(rounds):
        for name, (server, load) in servers.items():
            per[name].append(measure(server, load, connections, duration))
    out: dict[str, Any] = {name: summarise(runs) for name, runs in per.items()}
    if "aiiro" in per and "bare" in per:
        ratios = [
            a["rps"] / b["rps"] for a, b in zip(per["aiiro"], per["bare"], strict=True) if b["rps"]
        ]
        out["ratio"] = round(statistics.median(ratios), 3) if ratios else None
        out["round_ratios"] = [round(r, 3) for r in ratios]
        a_cpu, b_cpu = out["aiiro"]["cpu_us_per_request"], out["bare"]["cpu_us_per_request"]
        out["cpu_ratio"] = round(b_cpu / a_cpu, 3) if a_cpu and b_cpu else None
    return out


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(key: str) -> float | None:
        values = [r[key] for r in runs if r.get(key) is not None]
        return round(statistics.median(values), 3) if values else None

    return {
        "rps": med("rps"),
        "p50_ms": med("p50_ms"),
        "p99_ms": med("p99_ms"),
        "cpu_us_per_request": med("cpu_us_per_request"),
        "loadgen_cpu_us_per_request": med("loadgen_cpu_us_per_request"),
        "requests": sum(r["requests"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "rounds_rps": [r["rps"] for r in runs],
    }


def verdict(ratio: float | None, target: float) -> dict[str, Any]:
    return {"target_ratio": target, "meets_target": ratio is not None and ratio >= target}


# --- setup helpers -----------------------------------------------------------------------


def token(server: Server) -> str:
    body = json.dumps(
        {
            "grantType": "client_credentials",
            "clientId": server.extra["api_key"],
            "clientSecret": server.extra["api_secret"],
            "code": "",
        }
    ).encode()
    r = http("POST", server.base_url + "/oauth/v1/accesstokens", body)
    if r.status != 201:
        raise RuntimeError(f"token request failed: {r.status} {r.body[:200]!r}")
    value: str = r.json()["accessToken"]
    return value


def rsa_public_keys(count: int, bits: int = 2048) -> list[str]:
    """OpenSSH RSA public keys without a comment (aiiro refuses comments by default)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    keys = []
    for _ in range(count):
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        keys.append(
            private.public_key()
            .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
            .decode()
        )
    return keys


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "loadavg_1m_at_start": round(os.getloadavg()[0], 2),
    }
