"""The demo app's workflows end to end against real Temporal and Redis."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from activities.demo import executions_key
from agents import AgentRuntime, ValidationError
from tests.helpers import wait_for_status


async def test_process_items_completes_with_progress_and_state(
    runtime: AgentRuntime, worker: object, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("task-agent", agent_name)
    run_id = await agent.run_workflow("process_items", {"items": ["a", "b", "c", "d"]})

    info = await wait_for_status(agent, run_id, "complete", "errored")

    assert info.status == "complete"
    assert info.result == {"processed": 4}
    assert info.progress == {"processed": 4, "total": 4, "fraction": 1.0}
    assert info.completed_at is not None and info.completed_at >= info.created_at
    assert (await agent.refresh_state()) == {"task_progress": 1.0}
    counts = await redis.hgetall(executions_key(runtime.settings.redis_key_prefix, run_id))
    assert counts == {"0": "1", "1": "1", "2": "1", "3": "1"}


async def test_params_are_validated_before_anything_starts(
    runtime: AgentRuntime, agent_name: str
) -> None:
    agent = runtime.agent("task-agent", agent_name)
    with pytest.raises(ValidationError) as caught:
        await agent.run_workflow("process_items", {"items": "not a list"}, id="wf_bad")
    assert caught.value.details["errors"][0]["loc"] == ["items"]
    assert await agent.get_workflow("wf_bad") is None
