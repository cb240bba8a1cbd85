"""Cloudflare idioms that must carry over as they are: URL names of agent classes, the
catch-all workflow callback, approvals on an event type of one's own, and the controls'
rules (pause only what runs, restart as a new run, retention that holds unread)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import httpx
import pytest
import structlog
from redis.asyncio import Redis

from agents import AgentRuntime, ConflictError, Reconciler, kebab_case
from tests.app import calls_key
from tests.helpers import wait_for_status

NAMES = ["TaskAgent", "MY_AGENT", "Chat_Bot", "HTTPAgent", "agent", "Probe_", "X", "ABC1", "a_b", "myAgent2Go"]


def test_agent_url_names_are_the_ones_cloudflares_client_derives(node_client: Path) -> None:
    script = (
        "import {camelCaseToKebabCase as k} from './node_modules/agents/dist/utils.js';"
        f"console.log(JSON.stringify({json.dumps(NAMES)}.map(k)))"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=node_client.parent,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert [kebab_case(n) for n in NAMES] == json.loads(out.stdout)


@pytest.mark.usefixtures("worker")
async def test_the_catch_all_callback_sees_every_kind(runtime: AgentRuntime, redis: Redis, agent_name: str) -> None:
    agent = runtime.agent("callback-agent", agent_name)
    run_id = await agent.run_workflow("callback_flow", {})
    info = await wait_for_status(agent, run_id, "complete")
    recorded = [json.loads(c) for c in await redis.lrange(calls_key(agent), 0, -1)]
    assert recorded == [["progress", run_id], ["event", run_id], ["complete", run_id]]
    # The run knows itself by the same names Cloudflare's `this.workflowId` / `workflowName` give.
    assert info.result == {"workflow_id": run_id, "workflow_name": "callback_flow"}


@pytest.mark.usefixtures("worker")
async def test_the_id_on_a_run_row_is_the_one_every_control_takes(
    runtime: AgentRuntime, http: httpx.AsyncClient, agent_name: str
) -> None:
    agent = runtime.agent("task-agent", agent_name)
    first = await agent.get_workflow(await agent.run_workflow("approval", {"title": "a"}))
    await wait_for_status(agent, first.workflow_id, "waiting")
    await agent.approve_workflow(first.workflow_id)  # what a porter writes: info.workflowId
    assert (await wait_for_status(agent, first.workflow_id, "complete")).status == "complete"
    assert first.temporal_workflow_id == f"task-agent/{agent_name}/{first.workflow_id}"
    base = f"/agents/task-agent/{agent_name}/workflows"
    row = (await http.post(base, json={"workflow": "approval", "params": {"title": "b"}})).json()
    assert set(row) >= {"workflow_id", "temporal_workflow_id"} and "id" not in row
    await wait_for_status(agent, row["workflow_id"], "waiting")
    assert (await http.post(f"{base}/{row['workflow_id']}/reject", json={"reason": "no"})).status_code == 202
    assert (await wait_for_status(agent, row["workflow_id"], "errored")).error["message"] == "Workflow rejected: no"


async def test_the_default_error_callback_logs(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("probe-agent", agent_name)  # does not override on_workflow_error
    with structlog.testing.capture_logs() as logs:
        await agent.on_workflow_error("probe_flow", "wf_1", {"name": "ValueError", "message": "boom"})
    assert logs[0]["event"] == "workflow failed" and logs[0]["error"]["message"] == "boom"
    assert logs[0]["log_level"] == "warning" and logs[0]["workflow_id"] == "wf_1"


@pytest.mark.usefixtures("worker")
async def test_approval_on_an_event_type_of_its_own(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("callback-agent", agent_name)
    run_id = await agent.run_workflow("callback_flow", {"sign_off": True})
    info = await wait_for_status(agent, run_id, "waiting")
    assert info.waiting_for == "sign-off"
    await agent.send_workflow_event(run_id, "sign-off", {"approved": True, "metadata": {"by": "ann"}})
    assert (await wait_for_status(agent, run_id, "complete", "errored")).result == {"by": "ann"}


@pytest.mark.usefixtures("worker")
async def test_only_a_running_or_waiting_run_can_be_paused(
    runtime: AgentRuntime, http: httpx.AsyncClient, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("event_flow", {})
    await wait_for_status(agent, run_id, "waiting")
    assert (await agent.pause_workflow(run_id)).status == "paused"
    with pytest.raises(ConflictError, match="only a running or waiting run"):
        await agent.pause_workflow(run_id)
    again = await http.post(f"/agents/recorder-agent/{agent_name}/workflows/{run_id}/pause")
    assert again.status_code == 409 and "is paused" in again.json()["message"]
    idle = AgentRuntime(
        redis=runtime.redis,
        registry=runtime.registry,
        temporal=runtime.temporal,
        settings=runtime.settings.model_copy(update={"task_queue": f"idle-{agent_name}"}),
    )
    queued = await idle.agent("recorder-agent", agent_name).run_workflow("event_flow", {})  # no worker takes it
    refused = await http.post(f"/agents/recorder-agent/{agent_name}/workflows/{queued}/pause")
    assert refused.status_code == 409 and "is queued" in refused.json()["message"]
    assert (await agent.get_workflow(queued)).status == "queued"


@pytest.mark.usefixtures("worker")
async def test_restart_with_reset_tracking_is_a_new_run_first_in_lists(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    first = await agent.run_workflow("merge_flow", {"key": "a"})
    second = await agent.run_workflow("merge_flow", {"key": "b"})
    before = await wait_for_status(agent, first, "complete")
    await wait_for_status(agent, second, "complete")
    assert [w.workflow_id for w in (await agent.get_workflows()).workflows] == [second, first]
    restarted = await agent.restart_workflow(first)
    assert restarted.created_at > before.created_at and restarted.result is None
    assert [w.workflow_id for w in (await agent.get_workflows()).workflows] == [first, second]
    assert (await wait_for_status(agent, first, "complete")).status == "complete"
    kept = await agent.restart_workflow(second, reset_tracking=False)
    assert [w.workflow_id for w in (await agent.get_workflows()).workflows] == [first, second] and kept.created_at


@pytest.mark.usefixtures("worker")
async def test_retention_holds_without_anyone_listing(
    runtime: AgentRuntime, http: httpx.AsyncClient, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    base = f"/agents/recorder-agent/{agent_name}/workflows"
    for run_id in ("read", "unread"):
        started = await http.post(
            base,
            json={
                "workflow": "merge_flow",
                "id": run_id,
                "params": {"key": run_id},
                "retention": {"success": "300 ms"},
            },
        )
        assert started.status_code == 201, started.text
    for run_id in ("read", "unread"):
        info = await wait_for_status(agent, run_id, "complete")
        assert info.expires_at is not None and info.expires_at > info.completed_at
    await asyncio.sleep(0.5)
    assert (await http.get(f"{base}/read")).status_code == 404  # expired: gone on a plain GET
    assert await redis.exists(agent.keys.run("unread"))  # nobody read it yet
    await Reconciler(runtime).remove_expired()  # what the worker's reconciler does every few seconds
    assert not await redis.exists(agent.keys.run("unread"))
    assert (await agent.get_workflows()).total == 0
