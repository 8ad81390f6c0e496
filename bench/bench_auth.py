"""Issue 2: SSH-key listing (an account with 20 keys) and token issuance under load,
against a bare Starlette endpoint returning the same bytes, in the same run.

Target: aiiro >= 50% of the bare endpoint's requests/s.
Usage: python bench/bench_auth.py [--duration S] [--rounds N] [--connections C]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import harness

TARGET = 0.5
SSHKEY_COUNT = 20
SSHKEY_PATH = "/webarenaIndigo/v1/vm/sshkey"
TOKEN_PATH = "/oauth/v1/accesstokens"


def run(duration: float = 5.0, rounds: int = 3, connections: int = 16) -> dict[str, Any]:
    with harness.aiiro_server() as aiiro:
        bearer = harness.token(aiiro)
        auth = {"Authorization": f"Bearer {bearer}"}
        for i, key in enumerate(harness.rsa_public_keys(SSHKEY_COUNT)):
            body = json.dumps({"sshName": f"bench-key-{i:02d}", "sshKey": key}).encode()
            r = harness.http("POST", aiiro.base_url + SSHKEY_PATH, body, auth)
            if r.status != 201:
                raise RuntimeError(f"creating an SSH key failed: {r.status} {r.body[:200]!r}")

        list_load = harness.Load("GET", SSHKEY_PATH, auth, expect_status=200)
        listed = harness.check_once(aiiro.base_url, list_load)
        if listed.json()["total"] != SSHKEY_COUNT:
            raise RuntimeError(f"expected {SSHKEY_COUNT} keys, got {listed.json()['total']}")

        token_body = json.dumps(
            {
                "grantType": "client_credentials",
                "clientId": aiiro.extra["api_key"],
                "clientSecret": aiiro.extra["api_secret"],
                "code": "",
            }
        ).encode()
        token_load = harness.Load(
            "POST",
            TOKEN_PATH,
            {"Content-Type": "application/json"},
            token_body,
            expect_status=201,
        )
        issued = harness.check_once(aiiro.base_url, token_load)

        recorded = [
            harness.record("GET", SSHKEY_PATH, listed),
            harness.record("POST", TOKEN_PATH, issued),
        ]
        with harness.bare_server(recorded) as bare:
            cases = {}
            for name, load in (("sshkey_list_20_keys", list_load), ("token_issue", token_load)):
                result = harness.compare(
                    {"aiiro": (aiiro, load), "bare": (bare, load)},
                    connections,
                    duration,
                    rounds,
                )
                result.update(harness.verdict(result.get("ratio"), TARGET))
                cases[name] = result
    return {
        "bench": "auth_and_sshkeys",
        "issue": 2,
        "loadgen": harness.loadgen_name(),
        "connections": connections,
        "duration_s": duration,
        "rounds": rounds,
        "response_bytes": {
            "sshkey_list_20_keys": len(listed.body),
            "token_issue": len(issued.body),
        },
        "machine": harness.machine(),
        "cases": cases,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measured run")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    p.add_argument("--connections", type=int, default=16, help="concurrent keep-alive clients")
    a = p.parse_args()
    harness.print_json(run(a.duration, a.rounds, a.connections))


if __name__ == "__main__":
    main()
