"""The Python clients' helpers: every HTTP workflow helper, and call timeouts."""

from __future__ import annotations

import pytest

from agents.client import AgentClient, AgentClientError, AgentHttp, AgentHttpError
from tests.helpers import eventually

pytestmark = pytest.mark.usefixtures("worker")


async def _until(http: AgentHttp, run_id: str, status: str) -> dict:
    return await eventually(
        lambda: http.get_workflow(run_id), lambda r: r["status"] == status, timeout=20, what=f"{run_id} {status}"
    )


async def test_every_http_helper(api_server: str, agent_name: str) -> None:
    http = AgentHttp(api_server, "task-agent", agent_name)
    try:
        ok = await http.run_workflow("approval", {"title": "a"}, id="one", metadata={"k": "v"})
        assert ok["workflow_id"] == "one"
        no = await http.run_workflow("approval", {"title": "b"})
        await _until(http, "one", "waiting")
        await _until(http, no["workflow_id"], "waiting")
        await http.approve("one", reason="fine", metadata={"by": "me"})
        await http.reject(no["workflow_id"], reason="nope")
        assert (await _until(http, "one", "complete"))["result"]["metadata"] == {"by": "me"}
        assert (await _until(http, no["workflow_id"], "errored"))["error"]["message"] == "Workflow rejected: nope"

        listed = await http.list_workflows(status=["complete", "errored"], metadata={"k": "v"})
        assert [w["workflow_id"] for w in listed["workflows"]] == ["one"]
        assert (await http.update_metadata("one", {"k": None, "j": 1}))["metadata"] == {"j": 1}

        slow = await http.run_workflow("process_items", {"items": ["a"] * 30, "delay_ms": 100})
        await _until(http, slow["workflow_id"], "running")  # only a running or waiting run can be paused
        assert (await http.pause(slow["workflow_id"]))["status"] == "paused"
        assert (await http.resume(slow["workflow_id"]))["status"] == "running"
        assert (await http.terminate(slow["workflow_id"], reason="enough"))["status"] == "terminated"
        assert (await http.restart(slow["workflow_id"]))["status"] in ("queued", "running")  # its worker may be quick
        await _until(http, slow["workflow_id"], "running")
        await http.terminate(slow["workflow_id"], rollback=True)  # cancelled mid-step: nothing to undo
        await _until(http, slow["workflow_id"], "terminated")

        waiter = await http.run_workflow("approval", {"title": "c"})
        await _until(http, waiter["workflow_id"], "waiting")
        await http.send_event(waiter["workflow_id"], "approval", {"approved": True, "metadata": 1})
        assert (await _until(http, waiter["workflow_id"], "complete"))["result"]["metadata"] == 1
        assert (await http.get_state())["state"] == {}

        with pytest.raises(AgentHttpError) as missing:
            await http.get_workflow("missing")
        assert (missing.value.status, missing.value.code) == (404, "not_found")
    finally:
        await http.aclose()


async def test_calls_time_out_clearly_and_the_connection_stays_usable(api_server: str, agent_name: str) -> None:
    async with AgentClient(api_server, "recorder-agent", agent_name) as client:
        with pytest.raises(AgentClientError, match="timed out"):
            await client.call("sleep_for", 2, timeout=0.2)
        assert await client.call("sleep_for", 0.01) == "awake"
