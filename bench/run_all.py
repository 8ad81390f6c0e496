"""Run every benchmark and print one JSON document (`make bench`).

Usage: python bench/run_all.py [--quick] [--only auth,instances,cli,scale,polling]
--quick: shorter runs (2 s, 1 round, lists at 100 instances only, 5 CLI runs, 100
instances per workers run, polling with 100 instances and 5-s phases), for a smoke check;
the figures to quote come from the default run. `scale` needs PostgreSQL
(harness.postgres_url()); without it, its entry is an error.
"""

from __future__ import annotations

import argparse
import time
import traceback
from collections.abc import Callable
from typing import Any

import bench_auth
import bench_cli
import bench_instances
import bench_polling
import bench_scale
import harness


def benches(quick: bool) -> dict[str, Callable[[], dict[str, Any]]]:
    if quick:
        return {
            "auth": lambda: bench_auth.run(duration=2, rounds=1),
            "instances": lambda: bench_instances.run(duration=2, rounds=1, sizes=(100,)),
            "cli": lambda: bench_cli.run(runs=5),
            "scale": lambda: bench_scale.run(duration=2, rounds=1, operations_count=100),
            "polling": lambda: bench_polling.run(background=100, seconds=5),
        }
    return {
        "auth": bench_auth.run,
        "instances": bench_instances.run,
        "cli": bench_cli.run,
        "scale": bench_scale.run,
        "polling": bench_polling.run,
    }


def against_bare(case: str, figures: dict[str, Any]) -> dict[str, Any]:
    """The summary line of a case measured against the bare endpoint."""
    return {
        "case": case,
        "aiiro_rps": figures["aiiro"]["rps"],
        "bare_rps": figures["bare"]["rps"],
        "ratio": figures["ratio"],
        "target": f">= {figures['target_ratio']}",
        "meets_target": figures["meets_target"],
    }


def summary(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One line per target: what was measured, the figure, the target, met or not."""
    lines: list[dict[str, Any]] = []
    for name in ("auth", "instances"):
        for case, figures in results.get(name, {}).get("cases", {}).items():
            lines.append(against_bare(case, figures))
    create = results.get("instances", {}).get("create_instant_profile")
    if create:
        lines.append(
            {"case": "createinstance_instant", "instances_per_s": create["instances_per_s"]}
        )
    scale = results.get("scale", {})
    for case, figures in scale.get("api_processes", {}).get("cases", {}).items():
        lines.append(
            {
                "case": f"postgresql_{case}_processes",
                "rps": {n: figures[f"processes_{n}"]["rps"] for n in bench_scale.PROCESSES},
                "speedup_2": figures["speedup_2"],
                "target": f">= {figures['target_speedup_2']}",
                "meets_target": figures["meets_target"],
            }
        )
    if "workers" in scale:
        lines.append(
            {
                "case": "postgresql_operations_per_s_by_workers",
                "workers_1": scale["workers"]["workers_1"]["operations_per_s"],
                "workers_2": scale["workers"]["workers_2"]["operations_per_s"],
            }
        )
    if "list_1000" in scale:
        lines.append(against_bare("postgresql_getinstancelist_1000", scale["list_1000"]))
    if "large_database" in scale:
        figures = scale["large_database"]
        lines.append(
            {
                "case": "postgresql_list_100_of_10000_instances",
                "render_ms_small_db": figures["small_database"]["render_ms"],
                "render_ms_large_db": figures["large_database"]["render_ms"],
                "ratio": figures["render_ratio"],
                "target": f">= {figures['target_ratio']}",
                "meets_target": figures["meets_target"],
            }
        )
    polling = results.get("polling", {}).get("phases")
    if polling:
        lines.append(
            {
                "case": "lifecycles_while_polling",
                "lifecycles_per_s": polling["lifecycles"]["lifecycles_per_s"],
                "poll_p99_ms": polling["lifecycles"]["latency"]["poll"].get("p99_ms"),
                "write_p99_ms": polling["writes"]["write"].get("p99_ms"),
            }
        )
    cli = results.get("cli")
    if cli and "ratio" in cli:
        lines.append(
            {
                "case": "cli_instance_list_vs_curl",
                "cli_ms": cli["cli_ms"]["median"],
                "curl_ms": cli["curl_ms"]["median"],
                "ratio": cli["ratio"],
                "target": f"<= {cli['target_ms_max']} ms",
                "meets_target": cli["meets_target"],
            }
        )
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short runs, for a smoke check")
    p.add_argument("--only", default="", help="comma-separated subset: auth,instances,cli,scale")
    p.add_argument("--only", default="", help="comma-separated subset: auth,instances,cli,polling")
    a = p.parse_args()
    chosen = {x.strip() for x in a.only.split(",") if x.strip()}
    started = time.time()
    results: dict[str, Any] = {}
    for name, bench in benches(a.quick).items():
        if chosen and name not in chosen:
            continue
        try:
            results[name] = bench()
        except Exception as exc:  # one broken bench must not hide the others' figures
            results[name] = {
                "error": f"{type(exc).__name__}: {exc}",
                "trace": traceback.format_exc(),
            }
    harness.print_json(
        {
            "loadgen": harness.loadgen_name(),
            "quick": a.quick,
            "seconds": round(time.time() - started, 1),
            "machine": harness.machine(),
            "summary": summary(results),
            "results": results,
        }
    )


if __name__ == "__main__":
    main()
