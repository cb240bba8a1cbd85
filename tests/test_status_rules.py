"""The status rules (docs/contract.md), applied by the bridge activities to real tracking rows."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from activities import BridgeActivities
from agents import AgentRuntime
from agents.core.keys import index_member
from agents.store.queries import RunFilter
from agents.store.tracking import STATUSES, Transition, WorkflowInfo, now_ms
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


@pytest.mark.parametrize("outcome", ["complete", "error"])
async def test_complete_and_error_never_overwrite_terminated(
    runtime: AgentRuntime, agent_name: str, outcome: str
) -> None:
    run = await _row(runtime, agent_name, "terminated")
    report = ReportInput(run, outcome, result=1, error={"name": "E", "message": "m"})
    await activity_env("x/r1", "2").run(BridgeActivities(runtime).report, report)
    info = await _status(runtime, agent_name)
    assert info.status == "terminated" and info.result is None and info.error is None


@pytest.mark.parametrize(("outcome", "after"), [("complete", "complete"), ("error", "errored")])
async def test_a_run_that_reports_its_end_is_ended_though_a_pause_came_too_late(
    runtime: AgentRuntime, agent_name: str, outcome: str, after: str
) -> None:
    """Its last step done, a run pauses no more: the row said `paused` for ever after."""
    run = await _row(runtime, agent_name, "paused")
    report = ReportInput(run, outcome, result=1, error={"name": "E", "message": "m"})
    await activity_env("x/r1", "2").run(BridgeActivities(runtime).report, report)
    assert (await _status(runtime, agent_name)).status == after


async def test_numbered_pause_and_resume_reports_count_newest_first_and_fence_the_controls_marks(
    runtime: AgentRuntime, agent_name: str
) -> None:
    run = await _row(runtime, agent_name, "running")
    keys = runtime.agent("recorder-agent", agent_name).keys
    status = BridgeActivities(runtime).status

    async def row() -> tuple[str, str | None]:
        raw = await runtime.redis.hgetall(keys.run("r1"))
        return raw["status"], raw.get("controls")

    # Two controls' marks, then the run's reports of the signals, the second first.
    await runtime.tracker.transition(keys, "r1", Transition(status="paused", control_mark=True))  # signal 1
    await runtime.tracker.transition(
        keys, "r1", Transition(status="running", only_from="paused", control_mark=True)
    )  # signal 2
    await activity_env("x/r1", "6").run(status, StatusInput(run, "running", controls=2))
    await activity_env("x/r1", "7").run(status, StatusInput(run, "paused", controls=1))  # late: changes nothing
    assert await row() == ("running", "2")
    # A third control's mark that lands after the run's report of it changes nothing.
    await activity_env("x/r1", "8").run(status, StatusInput(run, "waiting", "go", controls=3))
    assert await row() == ("waiting", "3")
    await runtime.tracker.transition(
        keys, "r1", Transition(status="paused", control_mark=True)
    )  # signal 3's mark, late
    assert await row() == ("waiting", "3")
    # One that lands first stands until the run's word comes.
    await runtime.tracker.transition(keys, "r1", Transition(status="paused", control_mark=True))  # signal 4
    assert await row() == ("paused", "3")
    await activity_env("x/r1", "9").run(status, StatusInput(run, "paused", controls=4))
    assert await row() == ("paused", "4")


async def _indexed_in(runtime: AgentRuntime, keys: Any, member: str) -> list[str]:
    found = []
    for status in STATUSES:
        if await runtime.redis.zscore(keys.runs_by_status(status), member) is not None:
            found.append(status)
    return found


async def test_delete_and_recreate_racing_a_transition_leave_no_row_in_the_wrong_index(
    runtime: AgentRuntime, agent_name: str
) -> None:
    """Both read the row, then rewrote its indexes in a separate step: a transition in
    between left the row (or a stray of it) in the wrong status index."""
    keys = runtime.agent("recorder-agent", agent_name).keys
    for i in range(150):
        info = WorkflowInfo(
            workflow_id=f"r{i}", temporal_workflow_id=f"x/r{i}", workflow_name="w", status="queued", created_at=now_ms()
        )
        await runtime.tracker.create(keys, info)
        if i % 2:
            await asyncio.gather(
                runtime.tracker.delete(keys, f"r{i}"),
                runtime.tracker.transition(keys, f"r{i}", Transition(status="running")),
            )
            assert await _indexed_in(runtime, keys, info.member) == [], i
            assert await runtime.redis.zscore(keys.runs, info.member) is None
        else:
            await asyncio.gather(
                runtime.tracker.recreate(keys, f"r{i}"),
                runtime.tracker.transition(keys, f"r{i}", Transition(status="running")),
            )
            row = await runtime.tracker.get(keys, f"r{i}")
            assert await _indexed_in(runtime, keys, row.member) == [row.status], i
            if row.member != info.member:  # moved: nothing left under its old place
                assert await _indexed_in(runtime, keys, info.member) == [], i


async def test_a_bulk_delete_over_600_strays_ends_and_removes_them(runtime: AgentRuntime, agent_name: str) -> None:
    """Index entries whose row is gone were walked again and again: with 500 or more,
    the bulk delete never ended."""
    keys = runtime.agent("recorder-agent", agent_name).keys
    strays = {index_member(now_ms() - i, f"gone{i}"): 0 for i in range(600)}
    await runtime.redis.zadd(keys.runs, strays)
    await runtime.redis.zadd(keys.runs_by_status("running"), strays)
    deleted = await asyncio.wait_for(runtime.queries.delete(keys, RunFilter.build("running", None, None)), 20)
    assert deleted == 0  # no row among them
    assert await runtime.redis.zcard(keys.runs_by_status("running")) == 0
    assert await runtime.redis.zcard(keys.runs) == 0


async def test_a_late_report_of_an_earlier_control_leaves_a_later_controls_mark(
    runtime: AgentRuntime, agent_name: str
) -> None:
    """A pause's report landing after the next resume's mark made the resumed row say
    `paused` until the resume's own report came (a resume answered `paused`)."""
    run = await _row(runtime, agent_name, "running")
    keys = runtime.agent("recorder-agent", agent_name).keys
    await runtime.tracker.transition(keys, "r1", Transition(status="paused", control_mark=True))  # signal 1: pause
    await runtime.tracker.transition(
        keys, "r1", Transition(status="running", only_from="paused", control_mark=True)
    )  # 2: resume
    await activity_env("x/r1", "10").run(BridgeActivities(runtime).status, StatusInput(run, "paused", controls=1))
    assert (await _status(runtime, agent_name)).status == "running"


async def test_only_another_run_of_the_chain_reopens_a_finished_row(runtime: AgentRuntime, agent_name: str) -> None:
    """A reset runs a finished run again as a new run of its chain: its status reports
    reopen the row. The run that finished it (a late report) and progress (which may come
    late from an earlier run of a continue-as-new chain) never do."""
    run = await _row(runtime, agent_name, "running")
    bridge = BridgeActivities(runtime)
    ended = RunRef(run.agent, "r1", "w", execution=run.execution, run_id="run-2")
    await activity_env("x/r1", "11").run(bridge.report, ReportInput(ended, "complete", result=1))
    await activity_env("x/r1", "12").run(bridge.status, StatusInput(ended, "running"))  # late, same run
    earlier = RunRef(run.agent, "r1", "w", execution=run.execution, run_id="run-1")
    await activity_env("x/r1", "13").run(bridge.progress, ProgressInput(earlier, {"late": True}))
    info = await _status(runtime, agent_name)
    assert (info.status, info.result) == ("complete", 1)
    reset = RunRef(run.agent, "r1", "w", execution=run.execution, run_id="run-3")
    await activity_env("x/r1", "14").run(bridge.status, StatusInput(reset, "waiting", "go"))
    info = await _status(runtime, agent_name)
    assert (info.status, info.result, info.completed_at) == ("waiting", None, None)


async def test_a_chain_the_row_never_knew_reopens_it_only_when_finished(runtime: AgentRuntime, agent_name: str) -> None:
    """Only a restart starts a new chain under a row's Temporal id. One that died between
    its start and its write left the row finished: the new chain's first status report
    makes the row follow it. A chain a restart retired, progress, and any report while
    the row is unfinished never do."""
    bridge = BridgeActivities(runtime)
    run = await _row(runtime, agent_name, "running")
    stranger = RunRef(run.agent, "r1", "w", execution="chain-2", run_id="run-9")
    await activity_env("x/r1", "1").run(bridge.status, StatusInput(stranger, "waiting", "go"))
    assert (await _status(runtime, agent_name)).status == "running"  # unfinished: not its chain
    await activity_env("x/r1", "2").run(bridge.report, ReportInput(run, "complete", result=1))
    await activity_env("x/r1", "3").run(bridge.progress, ProgressInput(stranger, {"p": 1}))
    assert (await _status(runtime, agent_name)).status == "complete"  # progress never reopens
    await activity_env("x/r1", "4").run(bridge.status, StatusInput(stranger, "waiting", "go"))
    info = await _status(runtime, agent_name)
    assert (info.status, info.run_id, info.result) == ("waiting", "chain-2", None)
    await activity_env("x/r1", "5").run(bridge.report, ReportInput(stranger, "complete", result=2))
    await activity_env("x/r1", "6").run(bridge.status, StatusInput(run, "running"))  # the retired chain, late
    info = await _status(runtime, agent_name)
    assert (info.status, info.run_id, info.result) == ("complete", "chain-2", 2)


async def test_progress_delivered_after_a_later_status_report_never_undoes_it(
    runtime: AgentRuntime, agent_name: str
) -> None:
    """Progress waited only for the outbox of the worker reporting status: after a run
    moved to another worker (a rolling deploy), the old worker's late progress moved a
    `waiting` row back to `running`."""
    run = await _row(runtime, agent_name, "running")
    run = RunRef(run.agent, "r1", "w", execution=run.execution, run_id="run-1")
    bridge = BridgeActivities(runtime)
    await activity_env("x/r1", "15").run(bridge.progress, ProgressInput(run, {"n": 1}, seq=1))
    # The run posted reports 2 and 3 (on the worker it left), then waits, on another one.
    await activity_env("x/r1", "16").run(bridge.status, StatusInput(run, "waiting", "go", progress_seq=3))
    await activity_env("x/r1", "17").run(bridge.progress, ProgressInput(run, {"n": 3}, seq=3))  # late
    info = await _status(runtime, agent_name)
    assert (info.status, info.progress) == ("waiting", {"n": 3})  # the value shown, the status kept
    await activity_env("x/r1", "18").run(bridge.progress, ProgressInput(run, {"n": 2}, seq=2))  # older still
    assert (await _status(runtime, agent_name)).progress == {"n": 3}
    await activity_env("x/r1", "19").run(bridge.progress, ProgressInput(run, {"n": 4}, seq=4))  # a new one
    info = await _status(runtime, agent_name)
    assert (info.status, info.progress) == ("running", {"n": 4})
