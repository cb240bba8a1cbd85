"""Workflow starts per second: concurrent clients POSTing to the agent API (validation,
tracking row, Temporal start, run id) vs the raw client's `start_workflow`, same
concurrency. Both start runs on task queues no worker polls, so the figure is the start
path alone, not the worker (which shares this machine's two cores) running them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from agents import AgentRuntime
from bench._http import Connection
from bench._stack import Stack, ratio, start_api, stop


async def _rate(start_one: Callable[[int], Awaitable[None]], total: int, concurrency: int) -> float:
    queue = iter(range(total))

    async def client() -> None:
        for i in queue:
            await start_one(i)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return total / (time.perf_counter() - began)


async def run(stack: Stack, *, total: int = 400, concurrency: int = 16) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    api_url, api = await start_api(stack.settings.model_copy(update={"task_queue": "bench-idle"}), stack.tmp)
    try:
        return await _measure(stack, api_url, tag, total, concurrency)
    finally:
        stop(api)


async def _measure(stack: Stack, api_url: str, tag: str, total: int, concurrency: int) -> dict[str, Any]:
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(concurrency):
        pool.put_nowait(await Connection.open(api_url))
    try:

        async def ours(i: int) -> None:
            connection = await pool.get()
            try:
                status, body = await connection.post_json(f"/agents/bench-agent/st-{tag}-{i % 50}/workflows",
                                                          {"workflow": "approval_probe", "params": {"count": 1}})  # fmt: skip
            finally:
                pool.put_nowait(connection)
            if status != 201:
                raise RuntimeError(f"start answered {status}: {body[:200]!r}")

        async def raw(i: int) -> None:
            await stack.raw_temporal.start_workflow("raw_approval_probe", 1, id=f"st-{tag}-{uuid.uuid4().hex}",
                                                    task_queue="bench-idle-raw")  # fmt: skip

        idle = AgentRuntime(redis=stack.redis, registry=stack.runtime.registry, temporal=stack.temporal,
                            settings=stack.settings.model_copy(update={"task_queue": "bench-idle"}))  # fmt: skip

        async def python_api(i: int) -> None:  # the same start minus the HTTP hop and the API process
            await idle.agent("bench-agent", f"sp-{tag}-{i % 50}").run_workflow("approval_probe", {"count": 1})

        await _rate(ours, 20, 4)  # warm-up
        await _rate(raw, 20, 4)
        await _rate(python_api, 20, 4)
        ours_rate, raw_rate, python_rate = [], [], []
        for _ in range(2):  # interleaved halves
            ours_rate.append(await _rate(ours, total // 2, concurrency))
            raw_rate.append(await _rate(raw, total // 2, concurrency))
            python_rate.append(await _rate(python_api, total // 2, concurrency))
    finally:
        while not pool.empty():
            await pool.get_nowait().close()
    a, b, c = (sum(rates) / len(rates) for rates in (ours_rate, raw_rate, python_rate))
    return {"ours_per_s": round(a, 1), "raw_per_s": round(b, 1), "ratio": ratio(a, b), "concurrency": concurrency,
            "python_api_per_s": round(c, 1), "ratio_python_api": ratio(c, b),
            "starts": total, "target": {"ratio_min": 0.8}}  # fmt: skip
