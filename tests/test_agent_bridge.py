"""Workflow -> agent effects: state steps, callbacks, the agent proxy, broadcasts,
validation, idempotent retries, and concurrent writers."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from redis.asyncio import Redis
from temporalio.client import WorkflowFailureError
from temporalio.testing import ActivityEnvironment

from activities import BridgeActivities
from agents import AgentRuntime, StateRejectedError
from tests.helpers import channel_messages, outcome_calls, recorded_calls, wait_for_status
from workflows.contracts import AgentRef, ReportInput, RunRef, StateWriteInput


def activity_env(workflow_id: str, activity_id: str) -> ActivityEnvironment:
    """An environment that runs a bridge activity as attempt N of one activity would:
    same workflow id, run id and activity id each time."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=workflow_id, workflow_run_id="run-1", activity_id=activity_id)
    return env


@pytest.mark.usefixtures("worker")
async def test_state_steps_persist_and_broadcast_in_order(runtime: AgentRuntime, redis: Redis, agent_name: str) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    async with channel_messages(redis, agent) as messages:
        run_id = await agent.run_workflow("state_flow", {})
        await wait_for_status(agent, run_id, "complete", "errored")

    assert await agent.refresh_state() == {"counter": 10, "phase": "merged", "extra": [1, 2]}
    states = [m["message"]["state"] for m in messages if m["message"]["type"] == "cf_agent_state"]
    assert states == [{"counter": 10, "phase": "set"}, {"counter": 10, "phase": "merged", "extra": [1, 2]}]
    versions = [m["v"] for m in messages if m["message"]["type"] == "cf_agent_state"]
    assert versions == [1, 2]


@pytest.mark.usefixtures("worker")
async def test_reset_agent_state_restores_the_initial_state(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("state_flow", {"reset": True})
    await wait_for_status(agent, run_id, "complete", "errored")
    assert await agent.refresh_state() == {"counter": 0}
    assert agent.state_version == 3


@pytest.mark.usefixtures("worker")
async def test_agent_proxy_progress_broadcast_and_send_event_reach_the_agent(
    runtime: AgentRuntime, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    async with channel_messages(redis, agent) as messages:
        run_id = await agent.run_workflow("agent_call_flow", {})
        info = await wait_for_status(agent, run_id, "complete", "errored")

    assert info.result == 5  # self.agent.add(2, 3) ran on the agent
    await outcome_calls(redis, agent)
    calls = await recorded_calls(redis, agent)
    assert calls == [
        ["progress", "agent_call_flow", run_id, {"percent": 50}],
        ["event", "agent_call_flow", run_id, {"kind": "milestone", "total": 5}],
        ["complete", "agent_call_flow", run_id, 5],
    ]
    bodies = [m["message"] for m in messages]
    assert {"type": "hello", "total": 5} in bodies
    assert {
        "type": "workflow_progress",
        "workflow_id": run_id,
        "workflow_name": "agent_call_flow",
        "progress": {"percent": 50},
    } in bodies
    assert {
        "type": "workflow_status",
        "workflow_id": run_id,
        "workflow_name": "agent_call_flow",
        "status": "complete",
        "result": 5,
    } in bodies


@pytest.mark.usefixtures("worker")
async def test_explicit_report_complete_is_not_repeated_by_returning(
    runtime: AgentRuntime, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("explicit_report_flow", {})
    info = await wait_for_status(agent, run_id, "complete", "errored")
    assert info.result == {"early": True}
    finals = await outcome_calls(redis, agent)
    assert finals == [["complete", "explicit_report_flow", run_id, {"early": True}]]


@pytest.mark.usefixtures("worker")
async def test_raising_from_run_reports_the_error_once_and_fails_the_temporal_run(
    runtime: AgentRuntime, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("fail_flow", {"why": "bad input"})
    info = await wait_for_status(agent, run_id, "errored", "complete")
    assert info.error == {"name": "ValueError", "message": "boom: bad input"}
    finals = await outcome_calls(redis, agent)
    assert finals == [["error", "fail_flow", run_id, info.error]]
    # The row is errored before the run's last workflow task fails it on Temporal.
    handle = runtime.temporal.get_workflow_handle(info.temporal_workflow_id)
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), 10)
    assert (await handle.describe()).status.name == "FAILED"


@pytest.mark.usefixtures("worker")
async def test_validate_state_change_guards_workflow_and_server_writes(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("guarded-agent", agent_name)
    ok = await agent.run_workflow("guarded_flow", {"level": 5})
    assert (await wait_for_status(agent, ok, "complete", "errored")).status == "complete"
    bad = await agent.run_workflow("guarded_flow", {"level": -1})
    info = await wait_for_status(agent, bad, "errored", "complete")
    assert info.error == {"name": "StateRejectedError", "message": "level must not be negative"}

    with pytest.raises(StateRejectedError):
        await agent.set_state({"level": -3})
    assert await agent.refresh_state() == {"level": 5}


@pytest.mark.usefixtures("worker")
async def test_concurrent_merges_from_workflows_and_clients_lose_no_key(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_ids = await asyncio.gather(*(agent.run_workflow("merge_flow", {"key": f"wf{i}"}) for i in range(50)))

    async def client_writes() -> None:
        for i in range(20):
            writer = runtime.agent("recorder-agent", agent_name)  # as another connection would
            await writer.merge_state({f"client{i}": True}, source=f"conn-{i}")
            await asyncio.sleep(0.01)

    await client_writes()
    for run_id in run_ids:
        await wait_for_status(agent, run_id, "complete", "errored", timeout=60)

    state = await agent.refresh_state()
    assert {f"wf{i}" for i in range(50)} <= set(state)
    assert {f"client{i}" for i in range(20)} <= set(state)
    assert state["counter"] == 0
    assert agent.state_version == 70


@pytest.mark.usefixtures("worker")
async def test_agent_methods_called_from_workflows_run_one_at_a_time(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_ids = await asyncio.gather(*(agent.run_workflow("counter_flow", {}) for _ in range(8)))
    results = [(await wait_for_status(agent, r, "complete", "errored")).result for r in run_ids]
    assert sorted(results) == list(range(1, 9))  # a lost update would repeat a number
    assert (await agent.refresh_state())["counter"] == 8


async def test_a_retried_state_activity_does_not_apply_its_effect_twice(
    runtime: AgentRuntime, redis: Redis, agent_name: str
) -> None:
    """The crash window: effect applied, completion never recorded, activity retried."""
    agent = runtime.agent("recorder-agent", agent_name)
    bridge = BridgeActivities(runtime)
    env = activity_env("wf-x", "7")
    run = RunRef(AgentRef("recorder-agent", agent_name), None, "state_flow")
    async with channel_messages(redis, agent) as messages:
        first = await env.run(bridge.state, StateWriteInput(run, "merge", {"hits": 1}))
        await agent.merge_state({"hits": 2})  # someone else writes in between
        second = await env.run(bridge.state, StateWriteInput(run, "merge", {"hits": 1}))

    assert first == 1 and second == 2  # the retry saw the current version, wrote nothing
    assert await agent.refresh_state() == {"counter": 0, "hits": 2}
    assert len(messages) == 2


async def test_a_retried_report_calls_the_completion_hook_once(
    runtime: AgentRuntime, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    bridge = BridgeActivities(runtime)
    env = activity_env("wf-y", "9")
    report = ReportInput(RunRef(AgentRef("recorder-agent", agent_name), None, "x"), "complete", result=1)
    await env.run(bridge.report, report)
    await env.run(bridge.report, report)
    assert await recorded_calls(redis, agent) == [["complete", "x", None, 1]]
