"""Benchmark: `get_workflows` page of 50 with a status filter at 10,000 and 100,000
tracked runs on one agent (10,000 is the baseline measured in the same run).

    .venv/bin/python bench/list_page.py [--sizes 10000 100000] [--repeats 300]

Prints JSON: p50/p99 milliseconds per size (first page, a deep page via cursor, and
with a metadata filter) and the ratio of the largest size to the smallest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis  # noqa: E402

from agents import AgentRuntime, AppRegistry, Settings  # noqa: E402
from agents._tracking import WorkflowInfo  # noqa: E402
from devstack import ValkeyServer  # noqa: E402

STATUSES = ["complete", "complete", "complete", "errored", "running"]


async def seed(runtime: AgentRuntime, name: str, count: int) -> None:
    agent = runtime.agent("recorder-agent", name)
    base = 1_700_000_000_000

    async def one(i: int) -> None:
        await runtime.tracker.create(agent.keys, WorkflowInfo(
            id=f"wf_{i:07d}", workflow_id=f"x/{i}", workflow_name="process_items",
            status=STATUSES[i % len(STATUSES)], metadata={"team": f"t{i % 7}"}, created_at=base + i,
        ))  # fmt: skip

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


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = ValkeyServer(data_dir=Path(tmp)).start()
        redis = Redis.from_url(server.url, decode_responses=True)
        settings = Settings(redis_url=server.url, agent_modules="tests.app")
        runtime = AgentRuntime(redis=redis, registry=AppRegistry.from_modules(["tests.app"]), settings=settings)
        results = {}
        try:
            for size in args.sizes:
                name = f"bench-{size}"
                t0 = time.perf_counter()
                await seed(runtime, name, size)
                agent = runtime.agent("recorder-agent", name)
                deep = await agent.get_workflows(status="complete", limit=100)
                for _ in range(20):  # a cursor 2,000 runs deep
                    deep = await agent.get_workflows(status="complete", limit=100, cursor=deep.next_cursor)
                results[size] = {
                    "seed_s": round(time.perf_counter() - t0, 1),
                    "first_page": await timed(lambda: agent.get_workflows(status="complete", limit=50), args.repeats),
                    "deep_page": await timed(
                        lambda: agent.get_workflows(status="complete", limit=50, cursor=deep.next_cursor), args.repeats
                    ),
                    "status_and_metadata": await timed(
                        lambda: agent.get_workflows(status="complete", metadata={"team": "t3"}, limit=50), args.repeats
                    ),
                    "no_match": await timed(
                        lambda: agent.get_workflows(status="complete", metadata={"team": "nobody"}, limit=50), args.repeats
                    ),
                }
        finally:
            await redis.aclose()
            server.stop()
    small, large = min(results), max(results)
    print(json.dumps({
        "benchmark": "get_workflows page of 50, status filter",
        "results": results,
        "ratio_first_page_p50": round(results[large]["first_page"]["p50_ms"] / results[small]["first_page"]["p50_ms"], 2),
        "ratio_deep_page_p50": round(results[large]["deep_page"]["p50_ms"] / results[small]["deep_page"]["p50_ms"], 2),
        "ratio_status_and_metadata_p50": round(
            results[large]["status_and_metadata"]["p50_ms"] / results[small]["status_and_metadata"]["p50_ms"], 2),
        "targets": {"p50_ms_at_100k": 5, "ratio_100k_10k": 1.5},
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
