"""Runs longer than one Temporal history: continue-as-new carrying completed steps."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis
from temporalio.client import Client

from agents import AgentRuntime
from tests.helpers import recorded_calls, wait_for_status

pytestmark = pytest.mark.usefixtures("worker")


async def test_a_run_continues_as_new_without_rerunning_or_rereporting_steps(
    runtime: AgentRuntime, client: Client, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    key = f"test:long:{uuid.uuid4().hex}"
    run_id = await agent.run_workflow("long_run", {"key": key, "count": 30})
    for _ in range(200):  # send the final event while the run is mid-way: it must be kept
        if await redis.hlen(key) >= 10:
            break
        await asyncio.sleep(0.02)
    await agent.send_workflow_event(run_id, "go", "finish")

    info = await wait_for_status(agent, run_id, "complete", "errored", timeout=60)

    assert info.status == "complete", info.error
    assert info.result["processed"] == 30 and info.result["final"] == "finish"
    counts = {int(k): int(v) for k, v in (await redis.hgetall(key)).items()}
    assert counts == {i: 1 for i in range(30)}  # every step ran exactly once
    progress = [c for c in await recorded_calls(redis, agent) if c[0] == "progress"]
    assert [c[3]["done"] for c in progress] == list(range(1, 31))  # reported once each, in order
    assert (await agent.refresh_state())["done"] == 30

    executions = [w async for w in client.list_workflows(f'WorkflowId = "{info.temporal_workflow_id}"')]
    for _ in range(50):  # visibility lags a little
        if len(executions) > 2:
            break
        await asyncio.sleep(0.1)
        executions = [w async for w in client.list_workflows(f'WorkflowId = "{info.temporal_workflow_id}"')]
    assert len(executions) > 2, "the run should have continued as new several times"
    assert info.result["execution"] != info.run_id  # finished in a later execution of the chain
    assert (
        info.run_id
        == (
            await client.get_workflow_handle(info.temporal_workflow_id).describe()
        ).raw_description.workflow_execution_info.first_run_id
    )
