"""One run of `process_items` to its result, ours over the HTTP API or a raw `temporalio`
workflow on the same items: what `workflow_overhead`, `step_floor` and `concurrency`
time, alone or many at once."""

from __future__ import annotations

import uuid

import httpx

from bench._stack import RAW_QUEUE, Stack
from bench.raw import ItemsInput


async def ours(stack: Stack, web: httpx.AsyncClient, names: list[str]) -> None:
    """`process_items` started through the HTTP API (as a client does), to its result."""
    response = await web.post(
        f"/agents/task-agent/b-{uuid.uuid4().hex[:8]}/workflows",
        json={"workflow": "process_items", "params": {"items": names}},
    )
    response.raise_for_status()
    await stack.temporal.get_workflow_handle(response.json()["temporal_workflow_id"]).result()


async def raw(stack: Stack, workflow: str, names: list[str]) -> None:
    """A raw workflow of bench/raw.py on the same items, started by the raw client."""
    name = f"b-{uuid.uuid4().hex[:8]}"
    handle = await stack.raw_temporal.start_workflow(workflow, ItemsInput(name, names), id=name, task_queue=RAW_QUEUE)
    await handle.result()
