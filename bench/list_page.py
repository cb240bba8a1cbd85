"""`get_workflows` page of 50 with a status filter at 10,000 and 100,000 tracked runs on
one agent (10,000 is the baseline measured in the same run): the first page, a page
2,000 runs deep through a cursor, and status plus a metadata filter."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

from agents import AgentRuntime
from agents.store.tracking import WorkflowInfo

STATUSES = ["complete", "complete", "complete", "errored", "running"]


async def seed(runtime: AgentRuntime, name: str, count: int) -> None:
    agent = runtime.agent("bench-agent", name)
    base = 1_700_000_000_000

    async def one(i: int) -> None:
        await runtime.tracker.create(
            agent.keys,
            WorkflowInfo(
                workflow_id=f"wf_{i:07d}",
                temporal_workflow_id=f"x/{i}",
                workflow_name="process_items",
                status=STATUSES[i % len(STATUSES)],
                metadata={"team": f"t{i % 7}"},
                created_at=base + i,
            ),
        )

    for start in range(0, count, 100):  # 100 at a time: one connection each
        await asyncio.gather(*(one(i) for i in range(start, min(start + 100, count))))


async def timed(fn, repeats: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    for _ in range(20):  # warm-up
        await fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 3), "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 3)}


async def run(stack: Any, *, sizes: list[int], repeats: int = 300) -> dict[str, Any]:
    """Seeds tracking rows straight into Redis (no Temporal runs needed to page them)."""
    runtime = stack.runtime
    results = {}
    for size in sizes:
        name = f"list-{size}-{uuid.uuid4().hex[:6]}"
        t0 = time.perf_counter()
        await seed(runtime, name, size)
        agent = runtime.agent("bench-agent", name)
        deep = await agent.get_workflows(status="complete", limit=100)
        for _ in range(20):  # a cursor 2,000 runs deep
            deep = await agent.get_workflows(status="complete", limit=100, cursor=deep.next_cursor)
        results[size] = {
            "seed_s": round(time.perf_counter() - t0, 1),
            "first_page": await timed(lambda a=agent: a.get_workflows(status="complete", limit=50), repeats),
            "deep_page": await timed(
                lambda a=agent, c=deep.next_cursor: a.get_workflows(status="complete", limit=50, cursor=c), repeats
            ),
            "status_and_metadata": await timed(
                lambda a=agent: a.get_workflows(status="complete", metadata={"team": "t3"}, limit=50), repeats
            ),
        }
    small, large = min(results), max(results)
    return {
        "results": {str(k): v for k, v in results.items()},
        "ratio_first_page_p50": round(
            results[large]["first_page"]["p50_ms"] / results[small]["first_page"]["p50_ms"], 3
        ),
        "ratio_deep_page_p50": round(results[large]["deep_page"]["p50_ms"] / results[small]["deep_page"]["p50_ms"], 3),
        "target": {"p50_ms_max_at_100k": 5, "ratio_max": 1.5},
    }
