"""Issue 3: `getinstancelist` with 100 and with 1,000 instances against a bare Starlette
endpoint returning the same bytes, in the same run; and how many instances a second
`createinstance` makes in the `instant` profile.

Target: aiiro >= 50% of the bare endpoint's requests/s for the list.
Usage: python bench/bench_instances.py [--duration S] [--rounds N] [--connections C]
                                       [--sizes 100,1000] [--create-connections C]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import harness

TARGET = 0.5
CREATE_PATH = "/webarenaIndigo/v1/vm/createinstance"
LIST_PATH = "/webarenaIndigo/v1/vm/getinstancelist"
REGION_TOKYO = 1
OS_DEBIAN12 = 22
PLAN_DUAL = 1  # 1CR1GB, IPv4 + IPv6: every address field filled in
SETTLE_TIMEOUT_S = 120.0


def settled(server: harness.Server, auth: dict[str, str], expected: int) -> bytes:
    """The list once all `expected` instances have finished installing (Stopped)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        r = harness.http("GET", server.base_url + LIST_PATH, headers=auth)
        items = r.json() if r.status == 200 else []
        if len(items) == expected and all(i["instancestatus"] == "Stopped" for i in items):
            return r.body
        if time.monotonic() > deadline:
            states = sorted({i["instancestatus"] for i in items})
            raise RuntimeError(f"{len(items)}/{expected} instances, states {states}")
        time.sleep(0.2)


def run(
    duration: float = 5.0,
    rounds: int = 3,
    connections: int = 16,
    sizes: tuple[int, ...] = (100, 1000),
    create_connections: int = 4,
) -> dict[str, Any]:
    with harness.aiiro_server(profile="instant") as aiiro:
        auth = {"Authorization": f"Bearer {harness.token(aiiro)}"}
        key = json.dumps({"sshName": "bench", "sshKey": harness.rsa_public_keys(1)[0]}).encode()
        r = harness.http("POST", aiiro.base_url + "/webarenaIndigo/v1/vm/sshkey", key, auth)
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
        create_load = harness.Load("POST", CREATE_PATH, auth, create_body, expect_status=201)
        list_load = harness.Load("GET", LIST_PATH, auth, expect_status=200)

        created = 0
        creations: list[dict[str, Any]] = []
        lists: dict[str, Any] = {}
        for size in sorted(sizes):
            started = time.perf_counter()
            made = harness.run_count(
                aiiro.base_url, create_load, create_connections, size - created
            )
            elapsed = time.perf_counter() - started
            if not made["ok"]:
                raise RuntimeError(f"creating instances failed: {made}")
            creations.append(
                {
                    "from": created,
                    "to": size,
                    "seconds": round(elapsed, 3),
                    "instances_per_s": round((size - created) / elapsed, 1),
                    "p50_ms": made["p50_ms"],
                    "p99_ms": made["p99_ms"],
                }
            )
            created = size
            body = settled(aiiro, auth, size)
            listed = harness.check_once(aiiro.base_url, list_load)
            with harness.bare_server([harness.record("GET", LIST_PATH, listed)]) as bare:
                result = harness.compare(
                    {"aiiro": (aiiro, list_load), "bare": (bare, list_load)},
                    connections,
                    duration,
                    rounds,
                )
            result.update(harness.verdict(result.get("ratio"), TARGET))
            result["response_bytes"] = len(body)
            lists[f"getinstancelist_{size}"] = result

    total_s = sum(c["seconds"] for c in creations)
    return {
        "bench": "instances",
        "issue": 3,
        "loadgen": harness.loadgen_name(),
        "create_loadgen": "python-asyncio",
        "connections": connections,
        "duration_s": duration,
        "rounds": rounds,
        "machine": harness.machine(),
        "cases": lists,
        "create_instant_profile": {
            "connections": create_connections,
            "instances": created,
            "seconds": round(total_s, 3),
            "instances_per_s": round(created / total_s, 1) if total_s else None,
            "phases": creations,
        },
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measured run")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    p.add_argument("--connections", type=int, default=16, help="concurrent keep-alive clients")
    p.add_argument("--sizes", default="100,1000", help="instance counts to list at")
    p.add_argument("--create-connections", type=int, default=4, help="clients creating")
    a = p.parse_args()
    sizes = tuple(int(x) for x in a.sizes.split(","))
    harness.print_json(run(a.duration, a.rounds, a.connections, sizes, a.create_connections))


if __name__ == "__main__":
    main()
