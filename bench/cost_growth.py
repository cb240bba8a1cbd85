"""Benchmark: cost growth of `process_items` with 200, 2,000 and 20,000 items, started
through an agent, each to completion (the largest crosses Temporal's history limit
several times through continue-as-new). The smallest size is the baseline.

    .venv/bin/python bench/cost_growth.py [--sizes 200 2000 20000]

Prints JSON: seconds and milliseconds per item per size, and the per-item ratio of the
largest size to the smallest (target <= 1.3).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from agents import DATA_CONVERTER, AgentRuntime, AgentsPlugin, AppRegistry, Settings  # noqa: E402
from agents.logging import configure_logging  # noqa: E402
from devstack import TemporalDevServer, ValkeyServer  # noqa: E402


async def run_once(runtime: AgentRuntime, size: int) -> float:
    agent = runtime.agent("task-agent", f"bench-{uuid.uuid4().hex[:8]}")
    started = time.perf_counter()
    run_id = await agent.run_workflow("process_items", {"items": [f"i{n}" for n in range(size)]})
    while True:
        info = await runtime.tracker.get(agent.keys, run_id)
        if info and info.status in ("complete", "errored", "terminated"):
            break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    if info.status != "complete" or info.result != {"processed": size}:
        raise RuntimeError(f"size {size}: {info.status} {info.error}")
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000, 20000])
    parser.add_argument("--persist", action="store_true", help="SQLite on disk (as make dev), not in memory")
    args = parser.parse_args()
    configure_logging("WARNING")  # logs go to stderr; stdout is the JSON result
    with tempfile.TemporaryDirectory() as tmp:
        temporal = TemporalDevServer(db_file=Path(tmp) / "t.sqlite" if args.persist else None).start()
        valkey = ValkeyServer(data_dir=Path(tmp) / "v").start()
        redis = Redis.from_url(valkey.url, decode_responses=True)
        settings = Settings(temporal_address=temporal.address, redis_url=valkey.url, task_queue="bench")
        client = await Client.connect(temporal.address, data_converter=DATA_CONVERTER)
        runtime = AgentRuntime(redis=redis, registry=AppRegistry.from_modules(settings.module_list),
                               settings=settings, temporal=client)  # fmt: skip
        results = {}
        try:
            async with Worker(client, task_queue="bench", plugins=[AgentsPlugin(runtime)],
                              max_concurrent_activities=50):  # fmt: skip
                await run_once(runtime, 20)  # warm-up
                for size in args.sizes:
                    seconds = await run_once(runtime, size)
                    results[size] = {"seconds": round(seconds, 2), "ms_per_item": round(seconds / size * 1000, 3)}
                    print(json.dumps({"size": size, **results[size]}), file=sys.stderr, flush=True)
        finally:
            await redis.aclose()
            valkey.stop()
            temporal.stop()
    small, large = min(results), max(results)
    print(json.dumps({
        "benchmark": "process_items cost growth (agent API start to tracked completion)",
        "temporal_persistence": "sqlite file" if args.persist else "in memory",
        "results": results,
        "ratio_per_item_largest_to_smallest": round(results[large]["ms_per_item"] / results[small]["ms_per_item"], 2),
        "target": {"completes_at": 20000, "ratio": 1.3},
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
