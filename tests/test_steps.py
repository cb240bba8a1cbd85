"""step.do (retries, backoff, timeouts), sleeps and step names, on real servers."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from redis.asyncio import Redis

from agents import AgentRuntime
from tests.helpers import eventually, outcome_calls, wait_for_status

pytestmark = pytest.mark.usefixtures("worker")


async def _attempt_gaps(redis: Redis, key: str) -> list[float]:
    times = [float(t) for t in await redis.lrange(key, 0, -1)]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


async def test_step_failing_twice_then_succeeding_runs_exactly_three_times(
    runtime: AgentRuntime, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    key = f"test:attempts:{uuid.uuid4().hex}"
    params = {"key": key, "fail_times": 2, "retries": {"limit": 5, "delay": "300 ms", "backoff": "constant"}}
    run_id = await agent.run_workflow("retry_flow", params)

    info = await wait_for_status(agent, run_id, "complete", "errored")

    assert info.status == "complete"
    assert info.result == 3
    assert await redis.llen(key) == 3


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [
        ("constant", [0.4, 0.4, 0.4]),
        ("linear", [0.4, 0.8, 1.2]),
        ("exponential", [0.4, 0.8, 1.6]),
    ],
)
async def test_retry_delays_follow_the_backoff(
    runtime: AgentRuntime, redis: Redis, agent_name: str, backoff: str, expected: list[float]
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    key = f"test:attempts:{uuid.uuid4().hex}"
    params = {"key": key, "fail_times": 3, "retries": {"limit": 5, "delay": "400 ms", "backoff": backoff}}
    run_id = await agent.run_workflow("retry_flow", params)

    info = await wait_for_status(agent, run_id, "complete", "errored")

    assert info.status == "complete"
    gaps = await _attempt_gaps(redis, key)
    assert len(gaps) == 3
    for gap, want in zip(gaps, expected, strict=True):
        assert want * 0.9 <= gap <= want + 0.7, (backoff, gaps)


async def test_exhausted_retries_fail_the_run_and_report_the_error_once(
    runtime: AgentRuntime, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    key = f"test:attempts:{uuid.uuid4().hex}"
    params = {"key": key, "fail_times": 10, "retries": {"limit": 2, "delay": "50 ms", "backoff": "linear"}}
    run_id = await agent.run_workflow("retry_flow", params)

    info = await wait_for_status(agent, run_id, "errored", "complete")

    assert info.status == "errored"
    assert info.error == {"name": "RuntimeError", "message": "flaky failure 3"}
    assert await redis.llen(key) == 3
    errors = await outcome_calls(redis, agent)
    assert errors == [["error", "retry_flow", run_id, info.error]]
    handle = runtime.temporal.get_workflow_handle(info.temporal_workflow_id)
    assert (await handle.describe()).status.name == "FAILED"


async def test_step_exceeding_its_timeout_fails_as_a_timeout(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    started = time.monotonic()
    run_id = await agent.run_workflow("slow_step_flow", {"seconds": 30, "timeout": "1 second"})

    info = await wait_for_status(agent, run_id, "errored", "complete")

    assert info.status == "errored"
    assert info.error == {"name": "StepTimeoutError", "message": "step 'slow' timed out after 1s"}
    assert time.monotonic() - started < 15


async def test_sleep_and_sleep_until_wait_on_durable_timers(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    until_ms = int((time.time() + 2.5) * 1000)
    run_id = await agent.run_workflow("sleep_flow", {"until_ms": until_ms})

    info = await wait_for_status(agent, run_id, "complete", "errored")

    assert info.status == "complete"
    after_sleep, after_until = info.result
    assert after_sleep >= 1.0
    assert after_until >= 2.0
    assert time.time() * 1000 >= until_ms


async def test_repeated_step_names_are_numbered_and_the_run_completes(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("repeat_flow", {})
    info = await wait_for_status(agent, run_id, "waiting")
    await agent.approve_workflow(run_id, metadata={"n": 1})
    # The second wait has begun once its timeout timer shows in the history.
    timers = await eventually(
        lambda: summaries(runtime, info.temporal_workflow_id, "timer_started_event_attributes"),
        lambda t: "wait-for-approval-1" in t,
        what="the second approval wait",
    )
    await agent.approve_workflow(run_id, metadata={"n": 2})
    info = await wait_for_status(agent, run_id, "complete", "errored")
    assert info.status == "complete" and info.result == [{"n": 1}, {"n": 2}], info
    # Temporal UI shows each numbered step under its own name (the approval step's is
    # Cloudflare's, `wait-for-approval`).
    assert timers == ["nap", "nap-1", "wait-for-approval", "wait-for-approval-1"]


async def summaries(runtime: AgentRuntime, temporal_id: str, kind: str) -> list[str]:
    """The summaries of the history events of `kind` (what Temporal UI shows for them)."""
    out = []
    async for event in runtime.temporal.get_workflow_handle(temporal_id).fetch_history_events():
        if event.HasField(kind) and event.HasField("user_metadata"):
            out.append(runtime.temporal.data_converter.payload_converter.from_payload(event.user_metadata.summary, str))
    return out


async def test_step_names_show_as_summaries_in_temporal(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("task-agent", agent_name)
    run_id = await agent.run_workflow("process_items", {"items": ["x", "y"]})
    info = await wait_for_status(agent, run_id, "complete", "errored")

    activities = await summaries(runtime, info.temporal_workflow_id, "activity_task_scheduled_event_attributes")
    # Item 0's state write goes out with item 1's step, and says so; the last one,
    # with nothing to carry it, is a local activity of its own (a marker).
    assert activities == ["item-0", "item-1 (+ merge_agent_state#1)", "report_complete"]
    markers = await summaries(runtime, info.temporal_workflow_id, "marker_recorded_event_attributes")
    assert "merge_agent_state" in markers


async def test_a_state_write_carried_by_a_step_cancelled_before_it_started_is_still_applied(
    runtime: AgentRuntime, agent_name: str
) -> None:
    """A write goes out in the header of the run's next activity: when that activity was
    cancelled before it started, the write was dropped, yet counted done."""
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("cancelled_step_flow", {})
    info = await wait_for_status(agent, run_id, "complete", "errored")
    assert (info.status, info.result) == ("complete", "done"), info.error
    assert (await agent.refresh_state()).get("carried") == 1


async def test_a_carried_write_that_cannot_land_does_not_spend_the_steps_tries(
    runtime: AgentRuntime, agent_name: str
) -> None:
    """A write carried by a step was retried inside the step's attempt: with the agent's
    turn held (or Redis away) for longer than the step's timeout, the step timed out and,
    with no retry left, failed the run. The write is handed back, applied on its own once
    the turn is free, and the step runs."""
    agent = runtime.agent("recorder-agent", agent_name)
    async with agent.turn():
        run_id = await agent.run_workflow("held_write_flow", {})
        await asyncio.sleep(4)
    info = await wait_for_status(agent, run_id, "complete", "errored")
    assert (info.status, info.result) == ("complete", "done"), info.error
    assert (await agent.refresh_state()).get("held") == 1
