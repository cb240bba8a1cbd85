"""wait_for_event (buffering, waiting status, timeouts) and approvals, end to end."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from redis.asyncio import Redis
from temporalio.client import Client

from agents import AgentRuntime, ConflictError, NotFoundError, ValidationError
from devstack.servers import free_port
from tests.helpers import channel_messages, eventually, outcome_calls, wait_for_status
from workflows import Bridge, WorkflowEventSignal

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


async def test_progress_reported_before_a_wait_never_overtakes_its_waiting_status(
    runtime: AgentRuntime, agent_name: str
) -> None:
    # Progress goes out through the worker's outbox; the first report's hook is slow, so
    # the second reaches Redis late. It must still land before `waiting`, not undo it.
    agent = runtime.agent("recorder-agent", agent_name)
    progress = [{"n": 1, "slow": 0.5}, {"n": 2}]
    run_id = await agent.run_workflow("event_flow", {"progress_first": progress})

    await wait_for_status(agent, run_id, "waiting")
    await asyncio.sleep(1)  # past the slow hook: nothing comes after `waiting`
    info = await agent.get_workflow(run_id)

    assert (info.status, info.waiting_for, info.progress) == ("waiting", "go", {"n": 2})


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


async def test_approve_finishes_with_the_approvals_metadata_and_tells_clients_once(
    runtime: AgentRuntime, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("approval", {"title": "ship it"})
    await wait_for_status(agent, run_id, "waiting")

    async with channel_messages(redis, agent) as messages:
        await agent.approve_workflow(run_id, reason="looks good", metadata={"by": "ann"})
        info = await wait_for_status(agent, run_id, "complete", "errored")

    assert info.result == {"title": "ship it", "approved": True, "metadata": {"by": "ann"}}
    assert info.waiting_for is None
    assert await outcome_calls(redis, agent) == [["complete", "approval", run_id, info.result]]
    statuses = [m["message"] for m in messages if m["message"]["type"] == "workflow_status"]
    assert statuses[0] == {
        "type": "workflow_status",
        "workflow_id": run_id,
        "workflow_name": "approval",
        "status": "running",
    }
    assert [s["status"] for s in statuses] == ["running", "complete"]


async def test_reject_errors_the_run_with_the_reason(runtime: AgentRuntime, redis: Redis, agent_name: str) -> None:
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


async def _status_reports(client: Client, workflow_id: str) -> list[str]:
    """The statuses the run reported itself, in order (its `status ...` local activities)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    reports = []
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes") and event.user_metadata.HasField("summary"):
            summary = json.loads(event.user_metadata.summary.data)
            if summary.startswith("status "):
                reports.append(summary.removeprefix("status "))
    return reports


def _approval(metadata: int, event_id: str) -> WorkflowEventSignal:
    """An approval as an agent signals it, sent straight to Temporal with no mark."""
    return WorkflowEventSignal("approval", {"approved": True, "reason": None, "metadata": metadata}, id=event_id)


async def _status(agent: Any, run_id: str) -> str | None:
    row = await agent.get_workflow(run_id)
    return row.status if row is not None else None


@pytest.mark.parametrize("around_the_agent", [False, True], ids=["through-the-agent", "around-the-agent"])
async def test_the_awaited_event_marks_the_run_running_as_it_is_delivered(
    runtime: AgentRuntime, client: Client, agent_name: str, around_the_agent: bool
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("event_flow", {"then_sleep": "2 seconds"})
    waiting = await wait_for_status(agent, run_id, "waiting")
    assert waiting.waiting_for == "go"

    if around_the_agent:  # straight to Temporal, as its CLI would: no mark, no event id
        event = WorkflowEventSignal("go", 1)
        await client.get_workflow_handle(waiting.temporal_workflow_id).signal(Bridge.SIGNAL_EVENT, event)
        marked = await wait_for_status(
            agent, run_id, "running", timeout=5
        )  # the run says so, before its 2 s sleep ends
    else:
        await agent.send_workflow_event(run_id, "go", 1)
        # At once, not when the run gets round to saying so: a client polling right after
        # its approval sees it taken.
        marked = await runtime.tracker.get(agent.keys, run_id)
    assert marked is not None and (marked.status, marked.waiting_for) == ("running", None)

    info = await wait_for_status(agent, run_id, "complete", "errored")
    assert info.result == {"type": "go", "payload": 1}
    # Through the agent, the run went straight on to its next step without a report of its own.
    expected = ["running", "waiting", "running"] if around_the_agent else ["running", "waiting"]
    assert await _status_reports(client, info.temporal_workflow_id) == expected


async def test_an_event_delivered_before_the_run_says_waiting_keeps_it_running(
    runtime: AgentRuntime, client: Client, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("event_flow", {"sleep_first": "1 second"})
    info = await wait_for_status(agent, run_id, "running")
    # The agent's mark for an event delivered while the run is not yet waiting for it: noted.
    assert not await runtime.tracker.mark_resumed(agent.keys, run_id, "go", "early")
    await asyncio.sleep(2)  # the run has slept and reported `waiting` (the event is on its way)
    row = await agent.get_workflow(run_id)
    assert row is not None and row.status == "running"  # that report changed nothing
    assert await _status_reports(client, info.temporal_workflow_id) == ["running", "waiting"]

    handle = client.get_workflow_handle(info.temporal_workflow_id)
    await handle.signal(Bridge.SIGNAL_EVENT, WorkflowEventSignal("go", 4, id="early"))
    assert (await wait_for_status(agent, run_id, "complete", "errored")).result == {"type": "go", "payload": 4}


async def test_a_late_mark_for_an_event_the_run_took_changes_nothing(
    runtime: AgentRuntime, client: Client, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("repeat_flow", {})
    info = await wait_for_status(agent, run_id, "waiting")
    handle = client.get_workflow_handle(info.temporal_workflow_id)
    await handle.signal(Bridge.SIGNAL_EVENT, _approval(1, "first"))
    # The run took the first approval and reported its wait for the second, of the same type.
    await eventually(
        lambda: redis.sismember(agent.keys.events_taken(run_id), "first"), lambda taken: bool(taken), what="taken"
    )

    # The mark a control sends after delivering "first", arriving only now, finds it taken.
    assert not await runtime.tracker.mark_resumed(agent.keys, run_id, "approval", "first")
    row = await agent.get_workflow(run_id)
    assert row is not None and (row.status, row.waiting_for) == ("waiting", "approval")
    # (A mark for an event not taken would have moved it: the fence is the id.)
    assert await runtime.tracker.mark_resumed(agent.keys, run_id, "approval", "not-taken")

    await agent.approve_workflow(run_id, metadata=2)
    assert (await wait_for_status(agent, run_id, "complete", "errored")).result == [1, 2]


async def test_two_approvals_at_once_leave_the_run_running_through_both_waits(
    runtime: AgentRuntime, client: Client, agent_name: str
) -> None:
    # Two clients approve a run that waits twice, at the same moment. The second client's
    # mark lands first, on the first wait (which the first approval ends); the run then
    # reports its second wait, which the second approval, already delivered, ends at once.
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("repeat_flow", {"then_sleep": "3 seconds"})
    info = await wait_for_status(agent, run_id, "waiting")
    assert await runtime.tracker.mark_resumed(agent.keys, run_id, "approval", "second")
    handle = client.get_workflow_handle(info.temporal_workflow_id)
    await handle.signal(Bridge.SIGNAL_EVENT, _approval(1, "first"))
    await asyncio.sleep(1)  # the run took the first and reported its second wait
    assert await _status(agent, run_id) == "running"  # not `waiting`: the second is here

    await handle.signal(Bridge.SIGNAL_EVENT, _approval(2, "second"))
    assert not await runtime.tracker.mark_resumed(agent.keys, run_id, "approval", "first")  # late, taken
    await asyncio.sleep(1)  # the run took the second and sleeps
    assert await _status(agent, run_id) == "running"
    assert (await wait_for_status(agent, run_id, "complete", "errored")).result == [1, 2]


async def test_an_event_the_run_does_not_wait_for_leaves_it_to_the_run(
    runtime: AgentRuntime, client: Client, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("event_flow", {"sleep_first": "1500 ms"})
    await wait_for_status(agent, run_id, "running")
    await agent.send_workflow_event(run_id, "go", 2)  # buffered: the run is asleep, not waiting

    info = await wait_for_status(agent, run_id, "complete", "errored")
    assert info.result == {"type": "go", "payload": 2}
    assert await _status_reports(client, info.temporal_workflow_id) == ["running"]  # it never waited


async def test_an_approval_for_a_run_ended_behind_the_agents_back_leaves_it_ended(
    runtime: AgentRuntime, client: Client, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("approval", {"title": "gone"})
    info = await wait_for_status(agent, run_id, "waiting")
    await client.get_workflow_handle(info.temporal_workflow_id).terminate("from the Temporal CLI")

    with pytest.raises(ConflictError, match="already finished"):
        await agent.approve_workflow(run_id)
    row = await runtime.tracker.get(agent.keys, run_id)
    assert row is not None and row.status == "terminated"


async def test_an_approval_that_cannot_reach_temporal_leaves_the_run_waiting(
    runtime: AgentRuntime, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("approval", {"title": "later"})
    await wait_for_status(agent, run_id, "waiting")
    # The same agent seen from a process whose Temporal is unreachable (test_faults.py
    # shows the same with a running API and a killed Temporal server, answered 503).
    nowhere = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    cut_off = AgentRuntime(redis=redis, registry=runtime.registry, settings=runtime.settings, temporal=nowhere)

    with pytest.raises(RuntimeError, match="connect"):
        await cut_off.agent("recorder-agent", agent_name).approve_workflow(run_id)
    row = await runtime.tracker.get(agent.keys, run_id)
    assert row is not None and (row.status, row.waiting_for) == ("waiting", "approval")

    await agent.approve_workflow(run_id, reason="now")  # the approval, sent again, lands
    assert (await wait_for_status(agent, run_id, "complete", "errored")).status == "complete"


async def test_an_event_taken_while_two_status_reports_are_in_flight_is_still_reported(
    runtime: AgentRuntime, agent_name: str
) -> None:
    """Each report forgot the ids it carried by count (`del consumed[:n]`): with a signal
    handler's report in flight beside the run's own, the second dropped an id taken after
    both were made, which was then never reported (its pending entry stayed)."""
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("two_reports_flow", {})
    await agent.send_workflow_event(run_id, "one", None)
    await agent.send_workflow_event(run_id, "two", None)
    info = await wait_for_status(agent, run_id, "complete", "errored")
    assert info.status == "complete", info.error
    assert len(info.result) == 1  # the second event's id, still to be reported


async def test_wait_for_approval_returns_the_approval_with_its_reason_and_metadata(
    runtime: AgentRuntime, agent_name: str
) -> None:
    """It returned the metadata alone: the approver's reason went nowhere the run saw."""
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("approval_note_flow", {})
    await wait_for_status(agent, run_id, "waiting")
    await agent.approve_workflow(run_id, reason="looks right", metadata={"by": "ada"})
    info = await wait_for_status(agent, run_id, "complete", "errored")
    assert info.result == {"approved": True, "reason": "looks right", "metadata": {"by": "ada"}}, info.error


async def test_cloudflare_shapes_an_event_as_a_mapping_and_the_error_hook_with_a_string(
    runtime: AgentRuntime, redis: Redis, agent_name: str, client: Client
) -> None:
    """Cloudflare writes `sendWorkflowEvent(id, {type, payload})` and
    `onWorkflowError(name, id, error: string)`; the approval step is `wait-for-approval`."""
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("approval_note_flow", {})
    info = await wait_for_status(agent, run_id, "waiting")
    await agent.send_workflow_event(run_id, {"type": "approval", "payload": {"approved": True, "reason": "cf"}})
    done = await wait_for_status(agent, run_id, "complete", "errored")
    assert done.result == {"approved": True, "reason": "cf", "metadata": None}, done.error
    history = await client.get_workflow_handle(info.temporal_workflow_id).fetch_history()
    timers = [e.user_metadata.summary for e in history.events if e.HasField("timer_started_event_attributes")]
    assert [client.data_converter.payload_converter.from_payload(t, str) for t in timers] == ["wait-for-approval"]
    with pytest.raises(ValidationError, match="type"):
        await agent.send_workflow_event(run_id, {"payload": 1})

    texts = runtime.agent("text-error-agent", agent_name)
    failing = await texts.run_workflow("failing_for_text", {})
    await wait_for_status(texts, failing, "errored")
    await eventually(lambda: texts.refresh_state(), lambda s: s.get("error") == "broken on purpose", what="hook")
