"""Runs started without an agent: the raw Temporal client with plain params."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from temporalio.client import Client

from agents import AgentRuntime
from tests.helpers import eventually

pytestmark = pytest.mark.usefixtures("worker")


async def _until(http: httpx.AsyncClient, workflow_id: str, status: str) -> dict:
    async def row() -> dict:
        return (await http.get(f"/workflows/{workflow_id}")).json()

    return await eventually(row, lambda r: r.get("status") == status, timeout=15, what=f"{workflow_id} {status}")


async def test_a_standalone_run_completes_and_agent_bound_steps_do_nothing(
    http: httpx.AsyncClient, client: Client, runtime: AgentRuntime
) -> None:
    workflow_id = f"batch/{uuid.uuid4().hex}"  # any id another service might choose
    handle = await client.start_workflow(
        "process_items", {"items": ["a", "b"]}, id=workflow_id, task_queue=runtime.settings.task_queue
    )
    assert await handle.result() == {"processed": 2}
    row = await _until(http, workflow_id, "complete")
    assert row["result"] == {"processed": 2} and row["workflow_name"] == "process_items"


async def test_approval_of_a_standalone_run_through_http(
    http: httpx.AsyncClient, client: Client, runtime: AgentRuntime
) -> None:
    yes, no = f"standalone-{uuid.uuid4().hex}", f"standalone-{uuid.uuid4().hex}"
    for workflow_id in (yes, no):
        await client.start_workflow(
            "approval", {"title": "nightly export"}, id=workflow_id, task_queue=runtime.settings.task_queue
        )
    await asyncio.sleep(0.5)  # let them reach the wait; an early approval is kept anyway
    assert (await http.post(f"/workflows/{yes}/approve", json={"metadata": {"by": "ops"}})).status_code == 202
    assert (await http.post(f"/workflows/{no}/reject", json={"reason": "not tonight"})).status_code == 202
    done = await _until(http, yes, "complete")
    assert done["result"] == {"title": "nightly export", "approved": True, "metadata": {"by": "ops"}}
    failed = await _until(http, no, "errored")
    assert failed["error"] == {"name": "WorkflowRejectedError", "message": "Workflow rejected: not tonight"}
    late = await http.post(f"/workflows/{yes}/events", json={"type": "go"})
    assert late.status_code == 409
    assert (await http.get("/workflows/no-such-run")).status_code == 404


async def test_runs_an_agent_owns_are_refused_on_the_standalone_routes(
    http: httpx.AsyncClient, agent_name: str
) -> None:
    started = await http.post(
        f"/agents/task-agent/{agent_name}/workflows", json={"workflow": "approval", "params": {"title": "t"}}
    )
    workflow_id = started.json()["temporal_workflow_id"]
    refused = await http.post(f"/workflows/{workflow_id}/approve")
    assert refused.status_code == 404
    assert f"belongs to agent task-agent/{agent_name}" in refused.json()["message"]
    await http.post(f"/agents/task-agent/{agent_name}/workflows/{started.json()['workflow_id']}/terminate")
