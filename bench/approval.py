"""HTTP approve -> the run resumed past `wait_for_approval` (stamped by the next step's
activity), vs the raw baseline: a client signal -> `wait_condition` -> the next activity.

The three ways (HTTP, the Python agent API in this process, raw) take turns approval by
approval, so a slow spell of the shared machine falls on all three alike. Approvals go
over the minimal keep-alive client of `bench._http`: httpx would add about 2 ms of its
own CPU per request to the figure, a cost of the client, not of the API."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bench._http import Connection
from bench._stack import RAW_QUEUE, Stack, ratio, summary

SETTLE = 0.2  # after each approval: the run has resumed, stamped, and waits again well before this


class _Approver:
    """One probe run and how to approve it; `sent` holds when each approval went out."""

    def __init__(
        self,
        workflow_id: str,
        temporal: Any,
        ready: Callable[[], Awaitable[bool]],
        approve: Callable[[], Awaitable[None]],
    ) -> None:
        self.workflow_id, self._temporal, self._ready, self._approve = workflow_id, temporal, ready, approve
        self.sent: list[float] = []

    async def approve_once(self) -> None:
        while not await self._ready():
            await asyncio.sleep(0.005)
        self.sent.append(time.time())
        await self._approve()

    async def latencies_ms(self) -> list[float]:
        resumed = await self._temporal.get_workflow_handle(self.workflow_id).result()
        return [(r - s) * 1000 for r, s in zip(resumed, self.sent, strict=True)]


async def _ours(stack: Stack, web: Connection | None, count: int) -> _Approver:
    """Over HTTP, or with `web=None` through the Python agent API (the same path minus
    the HTTP hop: it splits the difference to raw)."""
    name = f"ap-{uuid.uuid4().hex[:8]}"
    agent = stack.runtime.agent("bench-agent", name)
    run_id = await agent.run_workflow("approval_probe", {"count": count})

    async def ready() -> bool:
        info = await agent.get_workflow(run_id)
        return info is not None and info.status == "waiting"

    async def approve() -> None:
        if web is None:
            return await agent.approve_workflow(run_id)
        status, body = await web.post_json(f"/agents/bench-agent/{name}/workflows/{run_id}/approve", {})
        assert status == 202, (status, body)

    info = await agent.get_workflow(run_id)
    assert info is not None
    return _Approver(info.temporal_workflow_id, stack.temporal, ready, approve)


async def _raw(stack: Stack, count: int) -> _Approver:
    handle = await stack.raw_temporal.start_workflow(
        "raw_approval_probe", count, id=f"ap-{uuid.uuid4().hex[:8]}", task_queue=RAW_QUEUE
    )
    await asyncio.sleep(SETTLE)  # the raw run has no status to poll; it is waiting well before this

    async def ready() -> bool:
        return True

    async def approve() -> None:
        await handle.signal("approve")

    return _Approver(handle.id, stack.raw_temporal, ready, approve)


async def _measure(stack: Stack, web: Connection, count: int) -> list[list[float]]:
    approvers = [await _ours(stack, web, count), await _ours(stack, None, count), await _raw(stack, count)]
    for _ in range(count):
        for approver in approvers:
            await approver.approve_once()
            await asyncio.sleep(SETTLE)
    return [await approver.latencies_ms() for approver in approvers]


async def run(stack: Stack, *, count: int = 30) -> dict[str, Any]:
    web = await Connection.open(stack.api_url)
    try:
        await _measure(stack, web, 2)  # warm-up
        ours, python_api, raw = (summary(x) for x in await _measure(stack, web, count))
    finally:
        await web.close()
    return {
        "ours": ours,
        "raw": raw,
        "ratio_p50": ratio(ours["p50_ms"], raw["p50_ms"]),
        "ours_without_http": python_api,
        "ratio_p50_without_http": ratio(python_api["p50_ms"], raw["p50_ms"]),
        "target": {"ratio_p50_max": 1.15},
    }
