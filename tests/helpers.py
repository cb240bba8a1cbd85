"""Small helpers shared by tests: waiting for a run's status or an agent's callbacks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from redis.asyncio import Redis

from agents import Agent, WorkflowInfo


async def wait_for_status(
    agent: Agent[Any], workflow_id: str, *statuses: str, timeout: float = 30
) -> WorkflowInfo:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    info = None
    while loop.time() < deadline:
        info = await agent.get_workflow(workflow_id)
        if info is not None and info.status in statuses:
            return info
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {workflow_id} did not reach {statuses}; last seen: {info}")


async def recorded_calls(redis: Redis, agent: Agent[Any]) -> list[list[Any]]:
    from tests.app import calls_key

    return [json.loads(raw) for raw in await redis.lrange(calls_key(agent), 0, -1)]


async def outcome_calls(redis: Redis, agent: Agent[Any], *, timeout: float = 10) -> list[list[Any]]:
    """The complete/error callbacks recorded, once at least one arrived (the hook runs
    just after tracking records the outcome), plus a short settle for any duplicate."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        finals = [c for c in await recorded_calls(redis, agent) if c[0] in ("complete", "error")]
        if finals:
            await asyncio.sleep(0.3)
            return [c for c in await recorded_calls(redis, agent) if c[0] in ("complete", "error")]
        await asyncio.sleep(0.05)
    return []
