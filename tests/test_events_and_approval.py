"""wait_for_event (buffering, waiting status, timeouts) and approvals, end to end."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from agents import AgentRuntime, ConflictError, NotFoundError, ValidationError
from tests.helpers import outcome_calls, wait_for_status

pytestmark = pytest.mark.usefixtures("worker")


async def test_an_event_sent_before_the_wait_is_delivered(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("event_flow", {"sleep_first": "1500 ms"})
    await wait_for_status(agent, run_id, "running")

    await agent.send_workflow_event(run_id, "go", {"n": 1})  # the run is still asleep
    info = await wait_for_status(agent, run_id, "complete", "errored")

    assert info.status == "complete"
    assert info.result == {"type": "go", "payload": {"n": 1}}


async def test_a_run_shows_waiting_while_blocked_and_an_event_releases_it(
    runtime: AgentRuntime, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("event_flow", {})
    await wait_for_status(agent, run_id, "waiting")

    await agent.send_workflow_event(run_id, "other", "ignored")
    await asyncio.sleep(0.5)
    assert (await agent.get_workflow(run_id)).status == "waiting"  # wrong type: still waiting

    await agent.send_workflow_event(run_id, "go", "now")
    info = await wait_for_status(agent, run_id, "complete", "errored")
    assert info.result == {"type": "go", "payload": "now"}


async def test_a_wait_times_out_with_a_clear_error(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("event_flow", {"timeout": "1 second"})

    info = await wait_for_status(agent, run_id, "errored", "complete")

    assert info.error == {
        "name": "EventTimeoutError",
        "message": "wait_for_event 'wait for go' timed out after 1s waiting for an event of type 'go'",
    }


async def test_events_to_unknown_or_finished_runs_are_refused(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    with pytest.raises(NotFoundError):
        await agent.send_workflow_event("wf_nope", "go")
    run_id = await agent.run_workflow("event_flow", {})
    await wait_for_status(agent, run_id, "waiting")
    with pytest.raises(ValidationError):
        await agent.send_workflow_event(run_id, "bad type with spaces")
    await agent.send_workflow_event(run_id, "go")
    await wait_for_status(agent, run_id, "complete")
    with pytest.raises(ConflictError):
        await agent.send_workflow_event(run_id, "go")


async def test_approve_finishes_with_the_approvals_metadata(
    runtime: AgentRuntime, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("approval", {"title": "ship it"})
    await wait_for_status(agent, run_id, "waiting")

    await agent.approve_workflow(run_id, reason="looks good", metadata={"by": "ann"})
    info = await wait_for_status(agent, run_id, "complete", "errored")

    assert info.result == {"title": "ship it", "approved": True, "metadata": {"by": "ann"}}
    assert await outcome_calls(redis, agent) == [["complete", "approval", run_id, info.result]]


async def test_reject_errors_the_run_with_the_reason(
    runtime: AgentRuntime, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("approval", {"title": "risky"})
    await wait_for_status(agent, run_id, "waiting")

    await agent.reject_workflow(run_id, reason="too risky")
    info = await wait_for_status(agent, run_id, "errored", "complete")

    expected = {"name": "WorkflowRejectedError", "message": "Workflow rejected: too risky"}
    assert info.error == expected
    finals = await outcome_calls(redis, agent)
    assert finals == [["error", "approval", run_id, expected]]


async def test_duplicate_and_late_approvals_change_nothing(
    runtime: AgentRuntime, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("approval", {"title": "once"})
    await wait_for_status(agent, run_id, "waiting")

    # Two people click at once, one approving and one rejecting: the first decision the
    # run takes wins, the other is refused (409) or arrives to a run that no longer waits.
    results = await asyncio.gather(
        agent.approve_workflow(run_id, reason="first", metadata={"by": "ann"}),
        agent.approve_workflow(run_id, reason="second", metadata={"by": "bob"}),
        agent.reject_workflow(run_id, reason="third"),
        return_exceptions=True,
    )
    assert all(r is None or isinstance(r, ConflictError) for r in results), results
    info = await wait_for_status(agent, run_id, "complete", "errored")
    outcomes = await outcome_calls(redis, agent)
    assert len(outcomes) == 1 and outcomes[0][2] == run_id  # exactly one outcome, reported once

    # Late: approve or reject a finished run is a 409 that leaves the row as it was.
    for late in (agent.approve_workflow(run_id, reason="late"), agent.reject_workflow(run_id, reason="late")):
        with pytest.raises(ConflictError, match="cannot take more events"):
            await late
    assert await agent.get_workflow(run_id) == info
    assert await outcome_calls(redis, agent) == outcomes
