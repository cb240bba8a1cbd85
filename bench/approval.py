"""HTTP approve -> the run resumed past `wait_for_approval` (stamped by the next step's
activity), vs the raw baseline: a client signal -> `wait_condition` -> the next activity."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from bench._stack import RAW_QUEUE, Stack, ratio, summary

SETTLE = 0.3  # after each approval: the run has resumed, stamped, and waits again well before this


async def _ours(stack: Stack, web: httpx.AsyncClient | None, count: int) -> list[float]:
    """Approvals over HTTP, or with `web=None` through the Python agent API in this
    process (the same path minus the HTTP hop: it splits the difference to raw)."""
    name = f"ap-{uuid.uuid4().hex[:8]}"
    agent = stack.runtime.agent("bench-agent", name)
    run_id = await agent.run_workflow("approval_probe", {"count": count})
    sent = []
    for _ in range(count):
        while (info := await agent.get_workflow(run_id)) is None or info.status != "waiting":
            await asyncio.sleep(0.005)
        sent.append(time.time())
        if web is None:
            await agent.approve_workflow(run_id)
        else:
            (await web.post(f"/agents/bench-agent/{name}/workflows/{run_id}/approve", json={})).raise_for_status()
        await asyncio.sleep(SETTLE)
    resumed = await stack.temporal.get_workflow_handle(info.workflow_id).result()
    return [(r - s) * 1000 for r, s in zip(resumed, sent, strict=True)]


async def _raw(stack: Stack, count: int) -> list[float]:
    handle = await stack.raw_temporal.start_workflow("raw_approval_probe", count, id=f"ap-{uuid.uuid4().hex[:8]}",
                                                     task_queue=RAW_QUEUE)  # fmt: skip
    await asyncio.sleep(SETTLE)
    sent = []
    for _ in range(count):
        sent.append(time.time())
        await handle.signal("approve")
        await asyncio.sleep(SETTLE)
    resumed = await handle.result()
    return [(r - s) * 1000 for r, s in zip(resumed, sent, strict=True)]


async def run(stack: Stack, *, count: int = 30) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as web:
        await _ours(stack, web, 2)
        await _raw(stack, 2)
        ours, raw = summary(await _ours(stack, web, count)), summary(await _raw(stack, count))
        python_api = summary(await _ours(stack, None, count))
    return {"ours": ours, "raw": raw, "ratio_p50": ratio(ours["p50_ms"], raw["p50_ms"]),
            "ours_without_http": python_api, "ratio_p50_without_http": ratio(python_api["p50_ms"], raw["p50_ms"]),
            "target": {"ratio_p50_max": 1.3}}  # fmt: skip
