"""The status rules (docs/contract.md), applied by the bridge activities to real tracking rows."""

from __future__ import annotations

import pytest

from activities import BridgeActivities
from agents import AgentRuntime
from agents._tracking import WorkflowInfo, now_ms
from tests.test_agent_bridge import activity_env
from workflows.contracts import AgentRef, ProgressInput, ReportInput, RunRef, StatusInput


async def _row(runtime: AgentRuntime, agent_name: str, status: str, run_id: str = "chain-1") -> RunRef:
    agent = runtime.agent("recorder-agent", agent_name)
    await runtime.tracker.create(
        agent.keys,
        WorkflowInfo(
            workflow_id="r1", temporal_workflow_id="x/r1", workflow_name="w", status=status, created_at=now_ms()
        ),
    )
    await runtime.tracker.set_run_id(agent.keys, "r1", run_id)
    return RunRef(AgentRef("recorder-agent", agent_name), "r1", "w", execution=run_id)


async def _status(runtime: AgentRuntime, agent_name: str) -> WorkflowInfo:
    info = await runtime.tracker.get(runtime.agent("recorder-agent", agent_name).keys, "r1")
    assert info is not None
    return info


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("queued", "running"),
        ("waiting", "running"),
        ("running", "running"),
        ("paused", "paused"),
        ("terminated", "terminated"),
    ],
)
async def test_progress_moves_queued_and_waiting_to_running_and_is_always_recorded(
    runtime: AgentRuntime, agent_name: str, before: str, after: str
) -> None:
    run = await _row(runtime, agent_name, before)
    await activity_env("x/r1", "1").run(BridgeActivities(runtime).progress, ProgressInput(run, {"p": 1}))
    info = await _status(runtime, agent_name)
    assert (info.status, info.progress) == (after, {"p": 1})


@pytest.mark.parametrize("before", ["terminated", "paused"])
@pytest.mark.parametrize("outcome", ["complete", "error"])
async def test_complete_and_error_never_overwrite_terminated_or_paused(
    runtime: AgentRuntime, agent_name: str, before: str, outcome: str
) -> None:
    run = await _row(runtime, agent_name, before)
    report = ReportInput(run, outcome, result=1, error={"name": "E", "message": "m"})
    await activity_env("x/r1", "2").run(BridgeActivities(runtime).report, report)
    info = await _status(runtime, agent_name)
    assert info.status == before and info.result is None and info.error is None


async def test_a_report_from_an_older_execution_changes_nothing(runtime: AgentRuntime, agent_name: str) -> None:
    run = await _row(runtime, agent_name, "running", run_id="chain-2")
    stale = RunRef(run.agent, "r1", "w", execution="chain-1")  # the run before a restart
    await activity_env("x/r1", "3").run(BridgeActivities(runtime).report, ReportInput(stale, "complete", result=1))
    await activity_env("x/r1", "4").run(BridgeActivities(runtime).status, StatusInput(stale, "waiting"))
    assert (await _status(runtime, agent_name)).status == "running"
    await activity_env("x/r1", "5").run(BridgeActivities(runtime).report, ReportInput(run, "complete", result=2))
    info = await _status(runtime, agent_name)
    assert (info.status, info.result) == ("complete", 2)


async def test_a_row_tracked_before_rows_kept_their_index_member_still_moves(
    runtime: AgentRuntime, agent_name: str
) -> None:
    await _row(runtime, agent_name, "queued")
    keys = runtime.agent("recorder-agent", agent_name).keys
    member = await runtime.redis.hget(keys.run("r1"), "member")
    await runtime.redis.hdel(keys.run("r1"), "member")  # as rows created by an earlier version
    await runtime.tracker.transition(keys, "r1", "running")
    assert await runtime.redis.zscore(keys.runs_by_status("running"), member) == 0
    assert await runtime.redis.zscore(keys.runs_by_status("queued"), member) is None
