"""Per-item cost of `process_items` (a step, a progress report and a state merge per
item, 50 items, started through the HTTP API) against the floor: a raw workflow doing
nothing but one activity per item on the SDK's defaults (bench/raw.py `raw_floor_items`).
Runs interleaved, each timed from its start to its result."""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench import _items as items
from bench._stack import Stack, interleaved, ratio


async def run(stack: Stack, *, count: int = 50, reps: int = 7, warmup: int = 2) -> dict[str, Any]:
    names = [f"i{n}" for n in range(count)]
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=120) as web:

        async def ours() -> float:
            started = time.perf_counter()
            await items.ours(stack, web, names)
            return (time.perf_counter() - started) * 1000 / count

        async def floor() -> float:
            started = time.perf_counter()
            await items.raw(stack, "raw_floor_items", names)
            return (time.perf_counter() - started) * 1000 / count

        a, b = await interleaved(ours, floor, reps=reps, warmup=warmup)
    return {
        "items": count,
        "ours_ms_per_item": a,
        "floor_ms_per_item": b,
        "ratio_per_item": ratio(a["p50_ms"], b["p50_ms"]),
        "target": {"ratio_per_item_max": 1.5},
    }
