"""Latency to a client: `report_progress` and `merge_agent_state` in a workflow -> the
message at a WebSocket client of the agent (through the API process), vs the raw
baseline: a local activity (progress) or an activity (state write) doing a Redis
PUBLISH, read by a plain Redis subscriber. Stamps are `workflow.now()` at the calling
workflow task (see bench/flows.py)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import websockets

from bench._stack import RAW_QUEUE, Stack, ratio, summary
from bench.raw import ProbeInput


async def _ours(
    stack: Stack, workflow: str, count: int, stamp: Callable[[dict[str, Any]], float | None]
) -> list[float]:
    name = f"lat-{uuid.uuid4().hex[:8]}"
    url = f"{stack.api_url.replace('http', 'ws')}/agents/bench-agent/{name}"
    samples: list[float] = []
    async with websockets.connect(url, max_size=None) as ws:
        for _ in range(2):  # identity, mcp (no state yet)
            await ws.recv()
        await stack.runtime.agent("bench-agent", name).run_workflow(workflow, {"count": count})
        while len(samples) < count:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if (sent := stamp(message)) is not None:
                samples.append((time.time() - sent) * 1000)
    return samples


async def _raw(stack: Stack, workflow: str, count: int) -> list[float]:
    channel = f"raw:lat-{uuid.uuid4().hex[:8]}"
    pubsub = stack.redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    samples: list[float] = []
    try:
        await stack.raw_temporal.start_workflow(workflow, ProbeInput(channel, count), id=channel, task_queue=RAW_QUEUE)
        while len(samples) < count:
            message = await pubsub.get_message(timeout=60)
            if message is None:
                continue
            data = json.loads(message["data"])
            sent = data["t"] if "t" in data else data["probe"]["t"]
            samples.append((time.time() - sent) * 1000)
    finally:
        await pubsub.aclose()
    return samples


def _progress_stamp(message: dict[str, Any]) -> float | None:
    return message["progress"]["t"] if message.get("type") == "workflow_progress" else None


def _merge_stamp(message: dict[str, Any]) -> float | None:
    if message.get("type") == "cf_agent_state" and "probe" in (message.get("state") or {}):
        return message["state"]["probe"]["t"]
    return None


async def run(stack: Stack, *, count: int = 200) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for kind, ours_wf, raw_wf, stamp in [
        ("progress", "progress_probe", "raw_progress_probe", _progress_stamp),
        ("merge", "merge_probe", "raw_merge_probe", _merge_stamp),
    ]:
        await _ours(stack, ours_wf, 5, stamp)  # warm-up
        await _raw(stack, raw_wf, 5)
        ours, raw = summary(await _ours(stack, ours_wf, count, stamp)), summary(await _raw(stack, raw_wf, count))
        results[kind] = {"ours": ours, "raw": raw, "ratio_p50": ratio(ours["p50_ms"], raw["p50_ms"])}
    results["progress"]["target"] = {"p50_ms_max": 20, "p99_ms_max": 60}
    results["merge"]["target"] = {"ratio_p50_max": 1.3}
    return results
