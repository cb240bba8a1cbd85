"""Cost growth of `process_items` with 200, 2,000 and 20,000 items, started through an
agent, each to its tracked completion (the largest crosses Temporal's history limit
several times through continue-as-new). The smallest size is the baseline; part of
`make bench` (bench/run.py)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

from agents import AgentRuntime


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


async def run(stack: Any, *, sizes: list[int]) -> dict[str, Any]:
    """On the shared bench stack (the framework's worker); the smallest size is the baseline."""
    await run_once(stack.runtime, 20)  # warm-up
    results: dict[int, dict[str, float]] = {}
    for size in sizes:
        seconds = await run_once(stack.runtime, size)
        results[size] = {"seconds": round(seconds, 2), "ms_per_item": round(seconds / size * 1000, 3)}
        print(json.dumps({"cost_growth": size, **results[size]}), file=sys.stderr, flush=True)
    small, large = min(results), max(results)
    return {
        "results": {str(k): v for k, v in results.items()},
        "ratio_per_item_largest_to_smallest": round(results[large]["ms_per_item"] / results[small]["ms_per_item"], 3),
        "target": {"completes_at": 20000, "ratio_max": 1.3},
    }
