"""Controls racing each other through two API processes: after quiescence, tracking
says what Temporal did (the last pause or resume in the run's history, the execution a
restart started)."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
from collections import Counter
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from agents import AgentRuntime, Settings
from devstack import free_port
from tests.helpers import eventually, start_api_process, start_entry_point, wait_for_status
from workflows.contracts import Bridge, WorkflowEventSignal

pytestmark = pytest.mark.usefixtures("worker")

_TRIALS = 30


async def _controls(client: Client, temporal_id: str) -> tuple[str, int]:
    """What the run's pause and resume signals did, as its history orders them: `paused`
    or `running` after the last one, and how many there were."""
    last, count = "running", 0
    async for event in client.get_workflow_handle(temporal_id).fetch_history_events():
        if event.HasField("workflow_execution_signaled_event_attributes"):
            name = event.workflow_execution_signaled_event_attributes.signal_name
            if name in (Bridge.SIGNAL_PAUSE, Bridge.SIGNAL_RESUME):
                last, count = ("paused" if name == Bridge.SIGNAL_PAUSE else "running"), count + 1
    return last, count


async def test_pause_racing_resume_through_two_apis_leaves_the_row_as_the_run_took_them(
    two_apis: list[str], client: Client, runtime: AgentRuntime, agent_name: str
) -> None:
    """Resume marked the row before its signal: a pause through the other API read
    `running` in between, signalled, marked `paused`, and the resume's signal landed
    after it: a row `paused` for a run that ran on (3 of 18 trials by hand; this test
    failed at its 5th trial before the fix)."""
    url = f"/agents/recorder-agent/{agent_name}/workflows"
    rng = random.Random(27)
    async with (
        httpx.AsyncClient(base_url=two_apis[0], timeout=30) as one,
        httpx.AsyncClient(base_url=two_apis[1], timeout=30) as other,
    ):
        started = await one.post(url, json={"workflow": "event_flow", "id": "r", "params": {"sleep_first": "1 hour"}})
        assert started.status_code == 201, started.text
        temporal_id = started.json()["temporal_workflow_id"]
        agent = runtime.agent("recorder-agent", agent_name)

        signalled = 0

        async def settled(trial: int) -> None:
            """Every signal is in the run's history (Temporal buffers one that comes during
            a workflow task until the task ends) and every report of the run's has landed
            (quiescence): the row must say what the run did. A control's mark may show a
            status for a moment before."""
            truth, count = await eventually(
                lambda: _controls(client, temporal_id), lambda c: c[1] == signalled, what="signals in history"
            )

            async def row() -> tuple[str, int]:
                raw = await runtime.redis.hgetall(agent.keys.run("r"))
                return raw["status"], int(raw.get("controls", 0))

            await eventually(
                row,
                lambda r: r == (truth, count),
                timeout=5,
                what=f"trial {trial}: the row {truth} after {count} pauses and resumes, as the run is",
            )

        await eventually(lambda: agent.get_workflow("r"), lambda i: i.status == "running", what="started")
        for trial in range(_TRIALS):
            if (await agent.get_workflow("r")).status == "running":
                first = await one.post(f"{url}/r/pause")
                assert first.status_code == 200, first.text
                signalled += 1
                await settled(trial)
            gap = rng.uniform(0, 0.003)  # the window: the resume between its mark and its signal

            async def pause_later(gap: float = gap) -> int:
                await asyncio.sleep(gap)
                return (await one.post(f"{url}/r/pause")).status_code

            resumed, paused = await asyncio.gather(other.post(f"{url}/r/resume"), pause_later())
            assert resumed.status_code == 200 and paused in (200, 409), (resumed.text, paused)
            signalled += 1 + (paused == 200)
            await settled(trial)


async def test_approve_racing_restart_leaves_the_row_following_the_new_run(
    two_apis: list[str], client: Client, runtime: AgentRuntime, agent_name: str
) -> None:
    """Restart blanked the row's run id before starting the new run: the old run's
    completion (the approval's doing) landed in that gap, and the row said `complete`
    while the restarted run was RUNNING, refusing pause, resume and terminate (3 of 15
    trials by hand). And an approval that reached the old run, marked after the
    restart's write, made the new run `running` while it waited for its own."""
    url = f"/agents/recorder-agent/{agent_name}/workflows"
    agent = runtime.agent("recorder-agent", agent_name)
    rng = random.Random(3)
    async with (
        httpx.AsyncClient(base_url=two_apis[0], timeout=30) as one,
        httpx.AsyncClient(base_url=two_apis[1], timeout=30) as other,
    ):
        for trial in range(15):
            run_id = f"r{trial}"
            started = await one.post(url, json={"workflow": "approval", "id": run_id, "params": {"title": "t"}})
            assert started.status_code == 201, started.text
            await eventually(lambda r=run_id: agent.get_workflow(r), lambda i: i.status == "waiting", what="waiting")

            async def approve_later(gap: float = rng.uniform(0, 0.004), run_id: str = run_id) -> int:
                await asyncio.sleep(gap)
                return (await one.post(f"{url}/{run_id}/approve", json={})).status_code

            restarted, approved = await asyncio.gather(other.post(f"{url}/{run_id}/restart", json={}), approve_later())
            assert restarted.status_code == 200 and approved in (202, 409), (restarted.text, approved)
            handle = client.get_workflow_handle(started.json()["temporal_workflow_id"])

            async def both(handle=handle, run_id=run_id) -> tuple[object, object, str | None, str | None]:
                described = await handle.describe()
                row = await agent.get_workflow(run_id)
                chain = described.raw_description.workflow_execution_info.first_run_id
                return described.status.name, row.status, chain, row.run_id

            # The new run waits for its own approval, or took this one (then completes); the
            # row follows its chain: `waiting` while it waits, never `complete` while it runs.
            # (Both answers are in: the approval's mark has landed.)
            await eventually(
                both,
                lambda b: b[2] == b[3] and (b[0], b[1]) in (("RUNNING", "waiting"), ("COMPLETED", "complete")),
                timeout=10,
                what=f"trial {trial}: the row following the restarted run",
            )


async def test_an_approval_that_reached_the_old_run_marked_after_a_restart_leaves_the_new_run_waiting(
    client: Client, runtime: AgentRuntime, agent_name: str
) -> None:
    """The approve-racing-restart window held still (white box): the approval's signal
    reaches the old run, the restart writes its new run's row, then the approval's mark
    lands. The mark made the new run `running` while it waited for its own approval."""
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("approval", {"title": "t"})
    info = await wait_for_status(agent, run_id, "waiting")
    approval = WorkflowEventSignal("approval", {"approved": True, "reason": None, "metadata": None}, id="late-mark")
    await client.get_workflow_handle(info.temporal_workflow_id).signal(Bridge.SIGNAL_EVENT, approval)
    await wait_for_status(agent, run_id, "complete")  # the old run took it
    await agent.restart_workflow(run_id)
    restarted = await wait_for_status(agent, run_id, "waiting")
    assert not await runtime.tracker.mark_resumed(agent.keys, run_id, "approval", approval.id)  # the late mark
    assert (await agent.get_workflow(run_id)).status == "waiting"
    described = await client.get_workflow_handle(restarted.temporal_workflow_id).describe()
    assert described.status.name == "RUNNING"


_ROW_FOR = {"COMPLETED": {"complete"}, "FAILED": {"errored"}, "TIMED_OUT": {"errored"}, "TERMINATED": {"terminated"}}
_UNFINISHED = {"queued", "running", "waiting", "paused"}


async def test_chaos_controls_racing_through_two_apis_while_a_worker_and_an_api_are_killed(
    settings: Settings, runtime: AgentRuntime, client: Client, agent_name: str, tmp_path: Path
) -> None:
    """The operator's chaos run in miniature: two worker and two API processes, random
    controls on a dozen runs through both APIs, one worker and one API SIGKILLed and
    replaced mid-way. After quiescence every row follows its Temporal run (its chain, its
    status, paused exactly when the run's last pause or resume was a pause): 0 mismatches."""
    rng = random.Random(1027)
    ports = [free_port(), free_port()]
    workers = [start_entry_point("worker.py", settings, tmp_path / f"worker{i}.log") for i in range(2)]
    apis = list(
        await asyncio.gather(
            *(start_api_process(settings, port, tmp_path / f"api{i}.log") for i, port in enumerate(ports))
        )
    )
    agent = runtime.agent("recorder-agent", agent_name)
    url = f"/agents/recorder-agent/{agent_name}/workflows"
    run_ids = [f"c{i}" for i in range(12)]
    statuses: Counter[int] = Counter()
    try:
        async with httpx.AsyncClient(timeout=30) as web:
            for i, run_id in enumerate(run_ids):
                body = {"workflow": "approval", "id": run_id, "params": {"title": run_id}}
                assert (await web.post(f"http://127.0.0.1:{ports[i % 2]}{url}", json=body)).status_code == 201

            async def control(deadline: float) -> None:
                loop = asyncio.get_running_loop()
                while loop.time() < deadline:
                    run_id, port = rng.choice(run_ids), rng.choice(ports)
                    action = rng.choice(
                        ["approve", "reject", "pause", "resume", "pause", "resume", "restart", "terminate"]
                    )
                    body = {} if action in ("approve", "reject", "restart", "terminate") else None
                    try:
                        response = await web.post(f"http://127.0.0.1:{port}{url}/{run_id}/{action}", json=body)
                        statuses[response.status_code] += 1
                    except httpx.TransportError:
                        statuses[0] += 1  # the API that was killed
                    await asyncio.sleep(rng.uniform(0, 0.02))

            loop = asyncio.get_running_loop()
            deadline = loop.time() + 8
            tasks = [asyncio.create_task(control(deadline)) for _ in range(6)]
            await asyncio.sleep(2.5)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(10)
            workers[0] = start_entry_point("worker.py", settings, tmp_path / "worker2.log")
            await asyncio.sleep(2)
            apis[1].send_signal(signal.SIGKILL)
            apis[1].wait(10)
            apis[1] = await start_api_process(settings, ports[1], tmp_path / "api3.log")
            await asyncio.gather(*tasks)
        assert not [code for code in statuses if code >= 500 and code != 503], statuses

        async def mismatches() -> list[str]:
            wrong = []
            for run_id in run_ids:
                row = await agent.get_workflow(run_id)  # a read, as a user's (it reconciles)
                described = await client.get_workflow_handle(row.temporal_workflow_id).describe()
                chain = described.raw_description.workflow_execution_info.first_run_id
                temporal = described.status.name
                expected = _ROW_FOR.get(temporal, _UNFINISHED)
                if temporal == "RUNNING":  # paused exactly when the run's last pause or resume was a pause
                    last, count = await _controls(client, row.temporal_workflow_id)
                    expected = {"paused"} if last == "paused" and count else _UNFINISHED - {"paused"}
                if row.run_id != chain or row.status not in expected:
                    wrong.append(f"{run_id}: row {row.status} {row.run_id}, Temporal {temporal} {chain}")
            return wrong

        await eventually(
            mismatches, lambda wrong: wrong == [], timeout=45, interval=0.5, what="tracking as Temporal says"
        )
        assert statuses[200] + statuses[202] > 50, statuses  # the controls did land, many of them
    finally:
        for proc in [*workers, *apis]:
            proc.terminate()
        for proc in [*workers, *apis]:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


async def test_a_restart_whose_process_dies_after_starting_its_run_leaves_the_row_following_it(
    client: Client, runtime: AgentRuntime, agent_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window the chaos test once hit, held still (white box): a restart of a finished
    run started its new run on Temporal, and its API process died before recording it.
    The row said `terminated` for good while the new run ran, refusing its reports; now
    the new chain's first status report reopens it (a chain the row never knew)."""
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("approval", {"title": "t"})
    await wait_for_status(agent, run_id, "waiting")
    await agent.terminate_workflow(run_id)

    async def process_gone(*_: object) -> list[str]:  # the first thing a restart does after its start
        raise asyncio.CancelledError

    monkeypatch.setattr(runtime.runs, "_events_sent_to", process_gone)
    with pytest.raises(asyncio.CancelledError):
        await agent.restart_workflow(run_id)
    followed = await wait_for_status(agent, run_id, "waiting")  # the new run's own report
    described = await client.get_workflow_handle(followed.temporal_workflow_id).describe()
    assert described.status.name == "RUNNING"
    assert followed.run_id == described.raw_description.workflow_execution_info.first_run_id
    await agent.approve_workflow(run_id)  # steerable again
    assert (await wait_for_status(agent, run_id, "complete")).run_id == followed.run_id


async def test_a_restart_that_surely_did_not_start_leaves_a_finished_row_as_it_was(
    runtime: AgentRuntime, agent_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("approval", {"title": "t"})
    await wait_for_status(agent, run_id, "waiting")
    ended = await agent.terminate_workflow(run_id)

    async def refused(*_: object, **__: object) -> None:
        raise RPCError("refused", RPCStatusCode.INVALID_ARGUMENT, b"")

    monkeypatch.setattr(runtime.runs, "_start_on_temporal", refused)
    with pytest.raises(RPCError):
        await agent.restart_workflow(run_id)
    after = await agent.get_workflow(run_id)
    assert (after.status, after.run_id) == ("terminated", ended.run_id)
