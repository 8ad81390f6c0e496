"""Fallback load generator when `wrk` is not installed: asyncio, raw HTTP/1.1 keep-alive.

Reads a JSON spec on stdin (url, method, headers, body, expect_status, connections,
duration, and optionally count: stop after that many requests) and prints one JSON
result. Written against raw sockets (no HTTP library) so the client costs far less per
request than the Python server it measures; still, on a 2-core machine it competes for
CPU, so its figures are lower than wrk's.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from typing import Any
from urllib.parse import urlsplit


def _request_bytes(spec: dict[str, Any]) -> tuple[str, int, bytes]:
    url = urlsplit(spec["url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    body = spec.get("body", "").encode()
    path = url.path + (f"?{url.query}" if url.query else "")
    lines = [f"{spec['method']} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in spec.get("headers", {}).items()]
    if body or spec["method"] in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _client(
    host: str,
    port: int,
    raw: bytes,
    expect: int,
    deadline: float,
    latencies: list[float],
    counts: dict[str, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline and counts["left"] > 0:
            counts["left"] -= 1
            started = time.perf_counter()
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != expect:
                counts["errors"] += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        counts["errors"] += 1
    finally:
        writer.close()


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    host, port, raw = _request_bytes(spec)
    latencies: list[float] = []
    counts = {"errors": 0, "left": int(spec.get("count") or 1 << 62)}
    started = time.perf_counter()
    deadline = started + float(spec["duration"])
    await asyncio.gather(
        *(
            _client(host, port, raw, int(spec["expect_status"]), deadline, latencies, counts)
            for _ in range(int(spec["connections"]))
        )
    )
    elapsed = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)

    def pct(p: float) -> float:
        return round(ms[min(len(ms) - 1, int(p / 100 * len(ms)))], 3) if ms else 0.0

    return {
        "requests": len(ms),
        "rps": round(len(ms) / elapsed, 1),
        "p50_ms": round(statistics.median(ms), 3) if ms else 0.0,
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": pct(100),
        "errors": counts["errors"],
    }


def main() -> None:
    spec = json.load(sys.stdin)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(spec))
    else:
        result = uvloop.run(run(spec))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
