"""Issue 13 (point 8): polling the list while things change, with the engine's thread on.

A real `aiiro serve` (profile `instant`, SQLite, the engine in its thread, as served by
default) holds `--background` settled instances of one account (plan 1, IPv4 + IPv6,
Stopped). Then two phases of `--seconds` each, `--clients` asyncio clients (httpx):

  lifecycles   each client loops: createinstance, poll getinstancelist until the new
               instance shows Stopped, start, poll until it shows Running; then
               forcestop and destroy it (not waited for), so the list keeps its size.
               Every poll is a full list of the account (background instances
               included); polls follow each other without a pause.
  writes       for half the phase each client creates instances, one after another;
               once they are all installed (waited for, untimed), the clients destroy
               them. Nothing is polled meanwhile: the requests' writes meet only the
               engine's (provisioning, destroying) on the store's write lock.

Figures: lifecycles per second; latency (p50/p99/max, ms) of the polls and of each kind
of write, and of create + destroy together ("write"); errors (any answer other than the
one expected; must be 0); the server's CPU time over the phase and per request (the
figure to compare on a machine shared with other work, where latencies swing).
Usage: python bench/bench_polling.py [--background N] [--clients C] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import httpx

import harness
from bench_instances import CREATE_PATH, LIST_PATH, OS_DEBIAN12, PLAN_DUAL, REGION_TOKYO

STATUS_PATH = "/webarenaIndigo/v1/vm/instance/statusupdate"
STEP_TIMEOUT_S = 60.0


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def figures(times: list[float]) -> dict[str, Any]:
    if not times:
        return {"count": 0}
    return {
        "count": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(percentile(times, 99), 2),
        "max_ms": round(max(times), 2),
    }


def shown_status(body: bytes, instance_id: int) -> str | None:
    """The `instancestatus` of one instance in a list body, without parsing the whole
    list (the client must not be what limits the polls)."""
    start = body.find(b'{"id":%d,' % instance_id)
    if start < 0:
        return None
    at = body.index(b'"instancestatus":"', start) + len(b'"instancestatus":"')
    return body[at : body.index(b'"', at)].decode()


class Client:
    """One client's requests, timed by kind."""

    def __init__(self, http: httpx.AsyncClient, create_body: bytes) -> None:
        self.http = http
        self.create_body = create_body
        self.times: dict[str, list[float]] = {}
        self.errors: list[str] = []

    async def call(self, kind: str, method: str, path: str, body: bytes | None, want: int) -> Any:
        started = time.perf_counter()
        r = await self.http.request(method, path, content=body)
        self.times.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        if r.status_code != want:
            self.errors.append(f"{kind}: {r.status_code} {r.text[:160]}")
            raise RuntimeError(self.errors[-1])
        return r

    async def create(self) -> int:
        r = await self.call("create", "POST", CREATE_PATH, self.create_body, 201)
        instance_id: int = r.json()["vms"]["id"]
        return instance_id

    async def command(self, kind: str, instance_id: int) -> None:
        body = json.dumps({"instanceId": instance_id, "status": kind}).encode()
        await self.call(kind, "POST", STATUS_PATH, body, 200)

    async def poll_until(self, instance_id: int, status: str) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while time.monotonic() < deadline:
            r = await self.call("poll", "GET", LIST_PATH, None, 200)
            if shown_status(r.content, instance_id) == status:
                return
        raise RuntimeError(f"instance {instance_id} not {status} within {STEP_TIMEOUT_S} s")

    async def lifecycle(self) -> None:
        instance_id = await self.create()
        await self.poll_until(instance_id, "Stopped")
        await self.command("start", instance_id)
        await self.poll_until(instance_id, "Running")
        await self.command("forcestop", instance_id)
        await self.command("destroy", instance_id)


async def lifecycles(
    base: str, auth: dict[str, str], create_body: bytes, clients: int, seconds: float
) -> dict[str, Any]:
    done = 0

    async def one(client: Client, end: float) -> None:
        nonlocal done
        while time.monotonic() < end:
            try:
                await client.lifecycle()
                done += 1
            except RuntimeError:
                await asyncio.sleep(0.1)

    async with _http(base, auth, clients) as http:
        every = [Client(http, create_body) for _ in range(clients)]
        started = time.monotonic()
        await asyncio.gather(*(one(c, started + seconds) for c in every))
        elapsed = time.monotonic() - started
    return {"lifecycles": done, "lifecycles_per_s": round(done / elapsed, 2), **_sum(every)}


async def writes(
    base: str, auth: dict[str, str], create_body: bytes, clients: int, seconds: float
) -> dict[str, Any]:
    made: list[int] = []

    async def creating(client: Client, end: float) -> None:
        while time.monotonic() < end:
            try:
                made.append(await client.create())
            except RuntimeError:
                await asyncio.sleep(0.1)

    async def destroying(client: Client) -> None:
        while made:
            try:
                await client.command("destroy", made.pop())
            except RuntimeError:
                await asyncio.sleep(0.1)

    async with _http(base, auth, clients) as http:
        every = [Client(http, create_body) for _ in range(clients)]
        end = time.monotonic() + seconds / 2
        await asyncio.gather(*(creating(c, end) for c in every))
        created = len(made)
        await asyncio.to_thread(settle, base, auth, None)
        await asyncio.gather(*(destroying(c) for c in every))
    return {"instances": created, **_sum(every)}


def _http(base: str, auth: dict[str, str], clients: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=clients)
    return httpx.AsyncClient(base_url=base, headers=auth, timeout=60, limits=limits)


def _sum(clients: list[Client]) -> dict[str, Any]:
    times: dict[str, list[float]] = {}
    for c in clients:
        for name, values in c.times.items():
            times.setdefault(name, []).extend(values)
    errors = [e for c in clients for e in c.errors]
    return {
        "latency": {name: figures(values) for name, values in sorted(times.items())},
        "write": figures(times.get("create", []) + times.get("destroy", [])),
        "errors": len(errors),
        "first_errors": errors[:5],
    }


def settle(base: str, auth: dict[str, str], expected: int | None) -> None:
    """Wait until every instance listed (`expected` of them, if given) is Stopped."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        r = harness.http("GET", base + LIST_PATH, headers=auth)
        items = r.json() if r.status == 200 else []
        if (expected is None or len(items) == expected) and all(
            i["instancestatus"] == "Stopped" for i in items
        ):
            return
        time.sleep(0.5)
    raise RuntimeError("the instances did not settle")


def run(background: int = 1000, clients: int = 4, seconds: float = 20.0) -> dict[str, Any]:
    env = {"AIIRO_LIMIT_INSTANCES": "100000"}
    with harness.aiiro_server(profile="instant", env=env) as server:
        auth = {"Authorization": f"Bearer {harness.token(server)}"}
        key = json.dumps({"sshName": "bench", "sshKey": harness.rsa_public_keys(1)[0]}).encode()
        r = harness.http("POST", server.base_url + "/webarenaIndigo/v1/vm/sshkey", key, auth)
        if r.status != 201:
            raise RuntimeError(f"creating an SSH key failed: {r.status} {r.body[:200]!r}")
        create_body = json.dumps(
            {
                "sshKeyId": r.json()["sshKey"]["id"],
                "regionId": REGION_TOKYO,
                "osId": OS_DEBIAN12,
                "instancePlan": PLAN_DUAL,
                "instanceName": "bench",
            }
        ).encode()
        if background:
            load = harness.Load("POST", CREATE_PATH, auth, create_body, expect_status=201)
            made = harness.run_count(server.base_url, load, 4, background)
            if not made["ok"]:
                raise RuntimeError(f"creating the background instances failed: {made}")
            settle(server.base_url, auth, background)
        phases: dict[str, Any] = {}
        for name, phase in (("lifecycles", lifecycles), ("writes", writes)):
            cpu = harness.cpu_seconds(server.proc.pid)
            result = asyncio.run(phase(server.base_url, auth, create_body, clients, seconds))
            # The server's CPU time: much steadier than latencies on a shared machine.
            result["server_cpu_s"] = round(harness.cpu_seconds(server.proc.pid) - cpu, 2)
            requests = sum(f["count"] for f in result["latency"].values())
            result["server_cpu_ms_per_request"] = round(result["server_cpu_s"] / requests * 1e3, 2)
            if name == "lifecycles" and result["lifecycles"]:
                per = result["server_cpu_s"] / result["lifecycles"]
                result["server_cpu_ms_per_lifecycle"] = round(per * 1e3, 1)
            phases[name] = result
    return {
        "bench": "polling",
        "issue": 13,
        "machine": harness.machine(),
        "profile": "instant",
        "engine": "thread",
        "background_instances": background,
        "clients": clients,
        "seconds_per_phase": seconds,
        "phases": phases,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--background", type=int, default=1000, help="settled instances listed")
    p.add_argument("--clients", type=int, default=4, help="concurrent clients")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    a = p.parse_args()
    harness.print_json(run(a.background, a.clients, a.seconds))


if __name__ == "__main__":
    main()
