"""Many runs at once, as the product is used: 50 concurrent `process_items` runs of 20
items started through the HTTP API, items per second from the first start to the last
result; against the same design by hand (`raw_process_items`) and the floor (one
activity per item, `raw_floor_items`), each run the same way, 50 at once."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bench import _items as items
from bench._stack import Stack, ratio


async def items_per_s(start_one: Callable[[], Awaitable[None]], runs: int, count: int) -> float:
    began = time.perf_counter()
    await asyncio.gather(*(start_one() for _ in range(runs)))
    return runs * count / (time.perf_counter() - began)


async def run(stack: Stack, *, runs: int = 50, count: int = 20, rounds: int = 3) -> dict[str, Any]:
    names = [f"i{n}" for n in range(count)]
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=300, limits=httpx.Limits(max_connections=runs)) as web:

        async def ours() -> None:
            await items.ours(stack, web, names)

        def raw(workflow: str) -> Callable[[], Awaitable[None]]:
            return lambda: items.raw(stack, workflow, names)

        sides = {"ours": ours, "raw": raw("raw_process_items"), "floor": raw("raw_floor_items")}
        for one in sides.values():  # warm-up: a few runs each
            await items_per_s(one, 5, count)
        rates: dict[str, list[float]] = {side: [] for side in sides}
        for _ in range(rounds):  # interleaved rounds, so drift hits every side alike
            for side, one in sides.items():
                rates[side].append(await items_per_s(one, runs, count))
    median = {side: round(statistics.median(r), 1) for side, r in rates.items()}
    return {
        "runs": runs,
        "items_per_run": count,
        "items_per_s": median,
        "ratio_to_raw": ratio(median["ours"], median["raw"]),
        "ratio_to_floor": ratio(median["ours"], median["floor"]),
        "target": {"ratio_to_raw_min": 0.9, "ratio_to_floor_min": 0.6},
    }
