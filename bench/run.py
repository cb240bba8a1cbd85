"""`make bench`: start the stack once, run every benchmark (warm-up, repetitions, the raw
baseline interleaved in the same run), print JSON, write bench/results.json and a chart.

    .venv/bin/python -m bench.run [--only NAME ...] [--quick] [--out bench/results.json]

`--quick` is the smoke run: tiny sizes, seconds not minutes, figures not comparable.
With `--only`, the benchmarks named are measured again and replace theirs in the
results file; the others stay as they were (each benchmark carries its `measured_at`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from agents.core.logging import configure_logging
from bench import (
    actor,
    agent_to_agent,
    approval,
    broadcast,
    broadcast_cluster,
    chat,
    concurrency,
    cost_growth,
    latency,
    list_page,
    scheduled_calls,
    starts,
    step_floor,
    workflow_overhead,
)
from bench._stack import Stack, bench_stack

Benchmark = Callable[[Stack, bool], Awaitable[dict[str, Any]]]

BENCHMARKS: dict[str, Benchmark] = {
    "workflow_overhead": lambda s, quick: workflow_overhead.run(s, reps=2 if quick else 9, warmup=1 if quick else 2),
    "latency_to_client": lambda s, quick: latency.run(s, count=10 if quick else 200),
    "approve_to_resumed": lambda s, quick: approval.run(s, count=3 if quick else 120),
    "step_floor": lambda s, quick: step_floor.run(s, count=10 if quick else 50, reps=2 if quick else 7),
    "concurrency": lambda s, quick: concurrency.run(s, runs=5 if quick else 50, rounds=1 if quick else 3),
    "broadcast_1000": lambda s, quick: _with_target(
        broadcast.run(s, clients=50 if quick else 1000, broadcasts=5 if quick else 30),
        {"all_delivered_p99_ms_max": 200, "api_rss_mb_max": 120},
    ),
    "broadcast_10000": lambda s, quick: _with_target(
        broadcast.run(s, clients=100 if quick else 10_000, broadcasts=5 if quick else 30, api_processes=2),
        {"all_delivered_p99_ms_max": 500, "api_rss_mb_max": 250},
    ),
    "broadcast_cluster": lambda s, quick: broadcast_cluster.run(
        s, clients=50 if quick else 1000, broadcasts=5 if quick else 30
    ),
    "chat": lambda s, quick: chat.run(s, quick=quick),
    "actor": lambda s, quick: actor.run(s, total=300 if quick else 3000, sequential=20 if quick else 300),
    "agent_to_agent": lambda s, quick: agent_to_agent.run(
        s, total=60 if quick else 2000, sequential=20 if quick else 300
    ),
    "http_starts": lambda s, quick: starts.run(s, total=40 if quick else 1000),
    "list_page": lambda s, quick: list_page.run(
        s, sizes=[1000, 2000] if quick else [10_000, 100_000], repeats=20 if quick else 300
    ),
    "scheduled_calls": lambda s, quick: scheduled_calls.run(
        s, total=200 if quick else 10_000, agents=10 if quick else 100, window=5 if quick else 200
    ),
    # Last: the longest by far (20,000 items is about half an hour on this dev server).
    "cost_growth": lambda s, quick: cost_growth.run(s, sizes=[10, 30] if quick else [200, 2000, 20_000]),
}


async def _with_target(measured: Awaitable[dict[str, Any]], target: dict[str, Any]) -> dict[str, Any]:
    return {**await measured, "target": target}


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny sizes")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.json")
    args = parser.parse_args()
    configure_logging("WARNING")  # stderr; stdout is the JSON
    results: dict[str, Any] = {}
    async with bench_stack() as stack:
        for name in args.only or list(BENCHMARKS):
            print(f"running {name} ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            results[name] = await BENCHMARKS[name](stack, args.quick)
            results[name]["seconds"] = round(time.perf_counter() - started, 1)
            results[name]["measured_at"] = machine()["when"]
            print(json.dumps({name: results[name]}), file=sys.stderr, flush=True)
    out = args.out if not args.quick else args.out.with_name("results-quick.json")
    if args.only and out.exists():  # keep the benchmarks not run this time
        results = {**json.loads(out.read_text())["results"], **results}
    report = {"machine": machine(), "quick": args.quick, "results": results}
    print(json.dumps(report, indent=2))
    out.write_text(json.dumps(report, indent=2) + "\n")
    from bench.chart import draw

    draw(report, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
