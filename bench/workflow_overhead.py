"""20-step `process_items` through the agent API (HTTP start, the demo workflow with its
progress, state merge and tracked completion) vs the same workflow by hand on raw
`temporalio` (bench/raw.py), started by the raw client. Both timed to the run's result."""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench import _items as items
from bench._stack import Stack, interleaved, ratio


async def run(stack: Stack, *, count: int = 20, reps: int = 9, warmup: int = 2) -> dict[str, Any]:
    names = [f"i{n}" for n in range(count)]
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as web:

        async def ours() -> float:
            started = time.perf_counter()
            await items.ours(stack, web, names)
            return (time.perf_counter() - started) * 1000

        async def raw() -> float:
            started = time.perf_counter()
            await items.raw(stack, "raw_process_items", names)
            return (time.perf_counter() - started) * 1000

        a, b = await interleaved(ours, raw, reps=reps, warmup=warmup)
    return {
        "ours": a,
        "raw": b,
        "ratio_p50": ratio(a["p50_ms"], b["p50_ms"]),
        "items": count,
        "target": {"ratio_p50_max": 1.10},
    }
