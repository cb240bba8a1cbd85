"""Steering runs over HTTP: events, approvals, pause/resume, terminate, restart,
isolation between agents, Temporal visibility, state and RPC routes."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from temporalio.client import Client

from activities.demo import executions_key
from agents import AgentRuntime, Reconciler
from devstack import temporal_cli
from tests.helpers import eventually
from tests.test_http_tracking import base, start, until

pytestmark = pytest.mark.usefixtures("worker")


async def test_events_change_no_status_and_finished_runs_refuse_them(http: httpx.AsyncClient, agent_name: str) -> None:
    url = base(agent_name)
    run = await start(http, url, workflow="event_flow", params={})
    await until(http, f"{url}/{run['workflow_id']}", "waiting")
    other = await http.post(f"{url}/{run['workflow_id']}/events", json={"type": "other", "payload": 1})
    assert other.status_code == 202
    await asyncio.sleep(0.3)
    assert (await http.get(f"{url}/{run['workflow_id']}")).json()["status"] == "waiting"
    await http.post(f"{url}/{run['workflow_id']}/events", json={"type": "go", "payload": {"x": 1}})
    done = await until(http, f"{url}/{run['workflow_id']}", "complete")
    assert done["result"] == {"type": "go", "payload": {"x": 1}}
    late = await http.post(f"{url}/{run['workflow_id']}/events", json={"type": "go"})
    assert late.status_code == 409 and "complete" in late.json()["message"]
    bad = await http.post(f"{url}/{run['workflow_id']}/events", json={"payload": 1})
    assert bad.status_code == 422


async def test_approval_waits_then_approve_and_reject(http: httpx.AsyncClient, agent_name: str) -> None:
    url = base(agent_name, "task-agent")
    yes = await start(http, url, workflow="approval", params={"title": "deploy"})
    no = await start(http, url, workflow="approval", params={"title": "drop db"})
    await until(http, f"{url}/{yes['workflow_id']}", "waiting")
    await until(http, f"{url}/{no['workflow_id']}", "waiting")
    assert (
        await http.post(f"{url}/{yes['workflow_id']}/approve", json={"reason": "ok", "metadata": {"by": "ann"}})
    ).status_code == 202
    assert (await http.post(f"{url}/{no['workflow_id']}/reject", json={"reason": "too risky"})).status_code == 202
    approved = await until(http, f"{url}/{yes['workflow_id']}", "complete")
    assert approved["result"] == {"title": "deploy", "approved": True, "metadata": {"by": "ann"}}
    rejected = await until(http, f"{url}/{no['workflow_id']}", "errored")
    assert rejected["error"] == {"name": "WorkflowRejectedError", "message": "Workflow rejected: too risky"}
    again = await http.post(f"{url}/{yes['workflow_id']}/approve")
    assert again.status_code == 409


async def test_pause_stops_new_steps_and_resume_continues_where_it_stopped(
    http: httpx.AsyncClient, runtime: AgentRuntime, redis: Redis, agent_name: str
) -> None:
    url = base(agent_name, "task-agent")
    run = await start(
        http, url, workflow="process_items", params={"items": [str(i) for i in range(8)], "delay_ms": 200}
    )
    counts_key = executions_key(runtime.settings.redis_key_prefix, run["workflow_id"])
    while await redis.hlen(counts_key) < 2:
        await asyncio.sleep(0.02)
    paused = await http.post(f"{url}/{run['workflow_id']}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    at_pause = await redis.hlen(counts_key)
    await asyncio.sleep(1.5)  # long enough for ~7 more steps if pause did nothing
    assert await redis.hlen(counts_key) <= at_pause + 1  # only the step in flight may finish
    assert (await http.get(f"{url}/{run['workflow_id']}")).json()["status"] == "paused"
    again = await http.post(f"{url}/{run['workflow_id']}/pause")  # only a running or waiting run pauses
    assert again.status_code == 409 and "is paused" in again.json()["message"]

    resumed = await http.post(f"{url}/{run['workflow_id']}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "running"
    done = await until(http, f"{url}/{run['workflow_id']}", "complete")
    assert done["result"] == {"processed": 8}
    assert set((await redis.hgetall(counts_key)).values()) == {"1"}  # every step once
    assert (await http.post(f"{url}/{run['workflow_id']}/resume")).status_code == 409


async def test_terminate_and_restart(http: httpx.AsyncClient, agent_name: str) -> None:
    url = base(agent_name)
    run = await start(http, url, workflow="event_flow", params={})
    await until(http, f"{url}/{run['workflow_id']}", "waiting")
    terminated = await http.post(f"{url}/{run['workflow_id']}/terminate", json={"reason": "no longer needed"})
    assert terminated.status_code == 200 and terminated.json()["status"] == "terminated"
    assert (await http.post(f"{url}/{run['workflow_id']}/terminate")).status_code == 409

    restarted = await http.post(f"{url}/{run['workflow_id']}/restart")
    assert restarted.status_code == 200
    # `running` when the in-process worker's first report of the new run beats the answer.
    assert restarted.json()["status"] in ("queued", "running") and restarted.json()["completed_at"] is None
    assert restarted.json()["run_id"] != terminated.json()["run_id"]
    await until(http, f"{url}/{run['workflow_id']}", "waiting")  # runs again, from the beginning
    await http.post(f"{url}/{run['workflow_id']}/events", json={"type": "go", "payload": "second life"})
    done = await until(http, f"{url}/{run['workflow_id']}", "complete")
    assert done["result"] == {"type": "go", "payload": "second life"}


async def test_restart_of_a_finished_run_runs_it_again_with_the_same_params(
    http: httpx.AsyncClient, runtime: AgentRuntime, redis: Redis, agent_name: str
) -> None:
    url = base(agent_name, "task-agent")
    run = await start(http, url, workflow="process_items", params={"items": ["a", "b"]})
    first = await until(http, f"{url}/{run['workflow_id']}", "complete")
    await http.post(f"{url}/{run['workflow_id']}/restart")
    second = await until(http, f"{url}/{run['workflow_id']}", "complete")
    assert second["result"] == first["result"] == {"processed": 2}
    assert second["params"] == {"items": ["a", "b"], "delay_ms": 0}
    counts = await redis.hgetall(executions_key(runtime.settings.redis_key_prefix, run["workflow_id"]))
    assert counts == {"0": "2", "1": "2"}  # once per run


async def test_control_of_unknown_ids_is_404(http: httpx.AsyncClient, agent_name: str) -> None:
    url = base(agent_name)
    for action in ("pause", "resume", "terminate", "restart", "approve", "reject"):
        response = await http.post(f"{url}/nope/{action}")
        assert response.status_code == 404, action
    assert (await http.post(f"{url}/nope/events", json={"type": "go"})).status_code == 404


async def test_a_run_terminated_with_the_temporal_cli_shows_terminated(
    http: httpx.AsyncClient, temporal_address: str, agent_name: str
) -> None:
    url = base(agent_name)
    run = await start(http, url, workflow="event_flow", params={})
    await until(http, f"{url}/{run['workflow_id']}", "waiting")
    subprocess.run(
        [
            temporal_cli(),
            "workflow",
            "terminate",
            "--address",
            temporal_address,
            "--workflow-id",
            run["temporal_workflow_id"],
            "--reason",
            "ops",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    row = (await http.get(f"{url}/{run['workflow_id']}")).json()
    assert row["status"] == "terminated"


async def test_an_agent_cannot_see_or_steer_another_agents_run(http: httpx.AsyncClient, agent_name: str) -> None:
    mine, theirs = base(agent_name), base(agent_name + "-other")
    run = await start(http, mine, workflow="event_flow", params={}, id="shared-id")
    await until(http, f"{mine}/{run['workflow_id']}", "waiting")
    assert (await http.get(f"{theirs}/shared-id")).status_code == 404
    assert (await http.post(f"{theirs}/shared-id/terminate")).status_code == 404
    assert (await http.post(f"{theirs}/shared-id/events", json={"type": "go"})).status_code == 404
    assert (await http.get(theirs)).json()["total"] == 0
    # the same id is free for another agent: runs are namespaced per agent
    await start(http, theirs, id="shared-id")
    assert (await http.get(f"{mine}/shared-id")).json()["status"] == "waiting"
    await http.post(f"{mine}/shared-id/terminate")


async def test_temporal_visibility_finds_exactly_one_agents_runs(
    http: httpx.AsyncClient, client: Client, agent_name: str
) -> None:
    alice, bob = f"{agent_name}-alice", f"{agent_name}-bob"
    mine = {(await start(http, base(alice)))["temporal_workflow_id"] for _ in range(3)}
    await start(http, base(bob))
    query = f'AgentName="{alice}"'
    for _ in range(100):  # visibility is eventually consistent
        found = {w.id async for w in client.list_workflows(query)}
        if found == mine:
            break
        await asyncio.sleep(0.1)
    assert found == mine
    typed = {
        w.id
        async for w in client.list_workflows(
            f'AgentType="recorder-agent" AND AgentWorkflow="merge_flow" AND AgentName="{alice}"'
        )
    }
    assert typed == mine


async def test_state_routes_and_rpc(http: httpx.AsyncClient, agent_name: str) -> None:
    url = f"/agents/recorder-agent/{agent_name}"
    assert (await http.get(f"{url}/state")).json() == {"state": {"counter": 0}, "version": 0}
    put = await http.put(f"{url}/state", json={"counter": 5, "mode": "a"})
    assert put.json() == {"state": {"counter": 5, "mode": "a"}, "version": 1}
    patch = await http.patch(f"{url}/state", json={"mode": "b"})
    assert patch.json() == {"state": {"counter": 5, "mode": "b"}, "version": 2}
    assert (await http.put(f"{url}/state", json=[1, 2])).status_code == 422
    rejected = await http.put(f"/agents/guarded-agent/{agent_name}/state", json={"level": -1})
    assert rejected.status_code == 422 and rejected.json()["message"] == "level must not be negative"

    assert (await http.post(f"{url}/rpc/ping", json={"args": []})).json() == {"result": "pong"}
    not_callable = await http.post(f"{url}/rpc/add", json={"args": [1, 2]})
    assert not_callable.status_code == 404 and "no callable method 'add'" in not_callable.json()["message"]
    started = await http.post(
        f"/agents/task-agent/{agent_name}/rpc/start_workflow", json={"args": ["process_items", {"items": ["z"]}]}
    )
    run_id = started.json()["result"]
    await until(http, f"/agents/task-agent/{agent_name}/workflows/{run_id}", "complete")
    listed = await http.post(f"/agents/task-agent/{agent_name}/rpc/list_workflows", json={"args": ["complete"]})
    assert [w["workflow_id"] for w in listed.json()["result"]["workflows"]] == [run_id]


async def test_retention_prunes_finished_runs(http: httpx.AsyncClient, agent_name: str) -> None:
    url = base(agent_name)
    kept = await start(http, url)
    short = await start(http, url, retention={"success": "500 ms"})
    await until(http, f"{url}/{short['workflow_id']}", "complete")
    await until(http, f"{url}/{kept['workflow_id']}", "complete")
    await asyncio.sleep(0.8)
    page = (await http.get(url)).json()
    assert [w["workflow_id"] for w in page["workflows"]] == [kept["workflow_id"]]
    bad = await http.post(
        url, json={"workflow": "merge_flow", "params": {"key": "k"}, "retention": {"success": "soon"}}
    )
    assert bad.status_code == 422


async def test_a_run_paused_while_waiting_is_waiting_again_after_resume(
    http: httpx.AsyncClient, agent_name: str
) -> None:
    url = base(agent_name)
    run = await start(http, url, workflow="event_flow", params={})
    await until(http, f"{url}/{run['workflow_id']}", "waiting")
    assert (await http.post(f"{url}/{run['workflow_id']}/pause")).json()["status"] == "paused"
    await http.post(f"{url}/{run['workflow_id']}/resume")
    await until(http, f"{url}/{run['workflow_id']}", "waiting", timeout=10)
    await http.post(f"{url}/{run['workflow_id']}/events", json={"type": "go"})
    assert (await until(http, f"{url}/{run['workflow_id']}", "complete"))["result"]["type"] == "go"


async def test_the_reconciler_fixes_lists_for_runs_ended_outside_the_agent(
    http: httpx.AsyncClient, runtime: AgentRuntime, client: Client, agent_name: str
) -> None:

    url = base(agent_name)
    run = await start(http, url, workflow="event_flow", params={})
    await until(http, f"{url}/{run['workflow_id']}", "waiting")
    await client.get_workflow_handle(run["temporal_workflow_id"]).terminate(reason="from another service")
    reconciler = Reconciler(runtime)
    for _ in range(100):  # visibility is eventually consistent
        if await reconciler.sweep():
            break
        await asyncio.sleep(0.1)
    page = (await http.get(f"{url}?status=terminated")).json()
    assert [w["workflow_id"] for w in page["workflows"]] == [run["workflow_id"]]


async def test_temporal_ui_shows_a_summary_and_live_progress(
    http: httpx.AsyncClient, client: Client, agent_name: str
) -> None:
    from temporalio.api.sdk.v1 import WorkflowMetadata

    url = base(agent_name, "task-agent")
    run = await start(http, url, workflow="approval", params={"title": "budget"})
    await until(http, f"{url}/{run['workflow_id']}", "waiting")
    handle = client.get_workflow_handle(run["temporal_workflow_id"])
    description = await handle.describe()
    assert await description.static_summary() == f"approval for task-agent/{agent_name} ({run['workflow_id']})"
    # What Temporal UI shows as the run's current details (the SDK's metadata query).
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert metadata.current_details == '**progress**: `{"stage":"awaiting approval","title":"budget"}`'
    await http.post(f"{url}/{run['workflow_id']}/terminate")


@pytest.mark.parametrize("ended_by", ["completing", "terminate"])
async def test_a_run_reset_with_the_temporal_cli_is_followed_by_its_row(
    http: httpx.AsyncClient, client: Client, temporal_address: str, agent_name: str, ended_by: str
) -> None:
    """`temporal workflow reset` (the operator's everyday repair) ran a finished run
    again while its row said `complete` the whole time, old run id and result: pause or
    terminate were refused as 'is complete' meanwhile."""
    url = base(agent_name)
    run = await start(http, url, workflow="event_flow", params={})
    await until(http, f"{url}/{run['workflow_id']}", "waiting")
    if ended_by == "terminate":
        assert (await http.post(f"{url}/{run['workflow_id']}/terminate", json={})).status_code == 200
        first = await until(http, f"{url}/{run['workflow_id']}", "terminated")
    else:
        await http.post(f"{url}/{run['workflow_id']}/events", json={"type": "go", "payload": 1})
        first = await until(http, f"{url}/{run['workflow_id']}", "complete")
    subprocess.run(
        [
            temporal_cli(),
            "workflow",
            "reset",
            "--address",
            temporal_address,
            "--workflow-id",
            run["temporal_workflow_id"],
            "--type",
            "FirstWorkflowTask",
            "--reapply-exclude",
            "Signal",  # the reset run waits for its event again
            "--reason",
            "ops",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    again = await until(http, f"{url}/{run['workflow_id']}", "waiting", timeout=10)
    assert again["result"] is None and again["completed_at"] is None
    assert (await http.post(f"{url}/{run['workflow_id']}/pause")).status_code == 200  # steerable again
    assert (await http.post(f"{url}/{run['workflow_id']}/resume")).status_code == 200
    await http.post(f"{url}/{run['workflow_id']}/events", json={"type": "go", "payload": 2})
    done = await until(http, f"{url}/{run['workflow_id']}", "complete")
    assert done["result"] == {"type": "go", "payload": 2} and done["run_id"] == first["run_id"]  # the same chain
    described = await client.get_workflow_handle(run["temporal_workflow_id"]).describe()
    assert described.status.name == "COMPLETED"


async def test_the_reconciler_lease_is_extended_only_by_its_holder(runtime: AgentRuntime) -> None:
    """The lease was checked with GET, then extended with PEXPIRE: a process whose lease
    ran out in between extended the one another process had just taken, and both swept."""
    first, second = Reconciler(runtime, interval=1), Reconciler(runtime, interval=1)
    key = f"{runtime.settings.redis_key_prefix}reconciler:{runtime.settings.task_queue}"
    await runtime.redis.delete(key)
    assert await first._lead() and not await second._lead()
    assert await first._lead()  # the holder extends its own
    await runtime.redis.delete(key)  # the first's lease runs out
    assert await second._lead()
    await runtime.redis.pexpire(key, 500)
    assert not await first._lead()  # neither taken back nor extended
    assert 0 < await runtime.redis.pttl(key) <= 500
    await runtime.redis.delete(key)


async def test_a_restart_from_a_step_keeps_what_came_before_it_and_runs_the_rest_again(
    http: httpx.AsyncClient, runtime: AgentRuntime, agent_name: str, tmp_path: Path
) -> None:
    """Four journaled steps (`item-0` .. `item-3`, each merging the agent's state): a
    restart from `item-2` runs items 2 and 3 again, and 0 and 1 not (their results come
    from the old execution's history). A step the run never began is a 422 that changes
    nothing."""
    path = tmp_path / "journal"
    url = base(agent_name)
    params = {"path": str(path), "count": 4, "seconds": 0}
    run = await start(http, url, workflow="journal_flow", id="steps", params=params)
    first = await until(http, f"{url}/steps", "complete")
    unknown = await http.post(f"{url}/steps/restart", json={"from_step": "item-9"})
    assert unknown.status_code == 422 and "no step 'item-9'" in unknown.json()["message"]
    assert (await http.get(f"{url}/steps")).json() == first  # the refusal changed nothing
    restarted = await http.post(f"{url}/steps/restart", json={"from_step": "item-2"})
    assert restarted.status_code == 200, restarted.text

    async def row() -> dict[str, Any]:
        return (await http.get(f"{url}/steps")).json()

    again = await eventually(row, lambda r: r["status"] == "complete" and r["run_id"] != first["run_id"], what="rerun")
    assert again["result"] == {"processed": 4} and run["workflow_id"] == "steps"
    lines = [int(line) for line in path.read_text().split()]
    assert sorted(lines) == [0, 1, 2, 2, 3, 3]  # items 0 and 1 ran once
    assert (await runtime.load_agent("recorder-agent", agent_name)).state["done"] == 4
