"""Agent schedules on Temporal Schedules: tracked runs, pause, resume, trigger, delete."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from redis.exceptions import ResponseError
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from agents import AgentRuntime
from tests.helpers import eventually

pytestmark = pytest.mark.usefixtures("worker")


async def _scheduled_runs(http: httpx.AsyncClient, agent: str, schedule_id: str) -> list[dict]:
    page = (await http.get(f"{agent}/workflows", params={"metadata.schedule": schedule_id, "limit": 100})).json()
    return page["workflows"]


async def _wait_runs(
    http: httpx.AsyncClient, agent: str, schedule_id: str, count: int, timeout: float = 20
) -> list[dict]:
    return await eventually(
        lambda: _scheduled_runs(http, agent, schedule_id),
        lambda runs: len(runs) >= count,
        timeout=timeout,
        interval=0.1,
        what=f"{count} runs of {schedule_id}",
    )


async def test_a_schedule_starts_tracked_runs_and_obeys_pause_resume_trigger_delete(
    http: httpx.AsyncClient, client: Client, agent_name: str
) -> None:
    agent = f"/agents/task-agent/{agent_name}"
    created = await http.post(
        f"{agent}/schedules",
        json={
            "workflow": "process_items",
            "params": {"items": ["a"]},
            "every": "2 seconds",
            "id": "tick",
            "metadata": {"team": "data"},
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["paused"] is False and created.json()["every"] == "2 seconds"

    runs = await _wait_runs(http, agent, "tick", 2)
    assert all(
        r["workflow_name"] == "process_items" and r["metadata"] == {"team": "data", "schedule": "tick"} for r in runs
    )
    done = [r for r in runs if r["status"] == "complete"]
    assert done and done[0]["result"] == {"processed": 1}
    assert done[0]["temporal_workflow_id"].startswith(f"task-agent/{agent_name}/tick-")

    assert (await http.post(f"{agent}/schedules/tick/pause")).json()["paused"] is True
    await asyncio.sleep(0.5)
    before = len(await _scheduled_runs(http, agent, "tick"))
    await asyncio.sleep(4.5)  # two intervals: a running schedule would have started runs
    assert len(await _scheduled_runs(http, agent, "tick")) == before

    assert (await http.post(f"{agent}/schedules/tick/trigger")).status_code == 202  # run now, even paused
    await _wait_runs(http, agent, "tick", before + 1)

    assert (await http.post(f"{agent}/schedules/tick/resume")).json()["paused"] is False
    await _wait_runs(http, agent, "tick", before + 2, timeout=10)

    listed = (await http.get(f"{agent}/schedules")).json()["schedules"]
    assert [s["id"] for s in listed] == ["tick"] and listed[0]["runs_started"] >= before + 1
    assert (await http.delete(f"{agent}/schedules/tick")).json() == {"deleted": 1}
    with pytest.raises(RPCError):
        await client.get_schedule_handle(f"task-agent/{agent_name}/tick").describe()
    assert (await http.get(f"{agent}/schedules")).json() == {"schedules": []}
    assert (await http.get(f"{agent}/schedules/tick")).status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"cron": "every day at noon"}, "not a cron expression"),
        ({"cron": "61 * * * *"}, "Temporal refused the schedule"),
        ({"every": "soon"}, "every"),
        ({"every": "100 ms"}, "at least 1 second"),
        ({"cron": "* * * * *", "every": "1 minute"}, "exactly one of"),
        ({"every": "1 minute", "overlap": "sometimes"}, "overlap"),
        ({"at": "x"}, "ISO 8601"),
        ({"at": "2026-13-45T00:00:00Z"}, "ISO 8601"),
        ({"at": "2030-01-01T09:00:00"}, "with a timezone"),
        ({"at": "0001-01-01T00:00:00+14:00"}, "out of range"),
    ],
)
async def test_bad_schedules_are_422_and_create_nothing(
    http: httpx.AsyncClient, agent_name: str, body: dict, message: str
) -> None:
    agent = f"/agents/task-agent/{agent_name}"
    response = await http.post(
        f"{agent}/schedules", json={"workflow": "process_items", "params": {"items": ["a"]}, **body}
    )
    assert response.status_code == 422, response.text
    assert message in response.json()["message"]
    assert (await http.get(f"{agent}/schedules")).json() == {"schedules": []}


async def test_a_schedule_whose_record_cannot_be_written_is_not_created_in_temporal(
    http: httpx.AsyncClient, client: Client, runtime: AgentRuntime, agent_name: str
) -> None:
    """The record comes first: a schedule in Temporal without one fires, yet can be
    neither listed nor deleted through the agent. A real Redis refusal (the schedules key
    holds a string: WRONGTYPE) stands for a failed write."""
    agent = runtime.agent("task-agent", agent_name)
    await runtime.redis.set(agent.keys.schedules, "not a hash")
    body = {"workflow": "process_items", "params": {"items": ["a"]}, "every": "1 hour", "id": "orphan"}
    with pytest.raises(ResponseError):  # the in-process app re-raises what it does not map
        await http.post(f"/agents/task-agent/{agent_name}/schedules", json=body)
    with pytest.raises(RPCError) as missing:
        await client.get_schedule_handle(f"task-agent/{agent_name}/orphan").describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    await runtime.redis.delete(agent.keys.schedules)


async def test_duplicate_schedule_ids_conflict(http: httpx.AsyncClient, agent_name: str) -> None:
    agent = f"/agents/task-agent/{agent_name}"
    body = {"workflow": "process_items", "params": {"items": ["a"]}, "cron": "0 0 1 1 *", "id": "yearly"}
    assert (await http.post(f"{agent}/schedules", json=body)).status_code == 201
    assert (await http.post(f"{agent}/schedules", json=body)).status_code == 409
    await http.delete(f"{agent}/schedules/yearly")


async def test_the_demo_schedules_sync_data_only_when_asked(
    http: httpx.AsyncClient,
    runtime,
    agent_name: str,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    hooks = runtime.registry.on_worker_start
    assert [h.__module__ for h in hooks] == ["agents.demo.schedule"]
    monkeypatch.setenv("DEMO_AGENT", agent_name)
    monkeypatch.delenv("DEMO_SYNC_EVERY", raising=False)
    await hooks[0](runtime)  # off by default: nothing scheduled
    agent = f"/agents/task-agent/{agent_name}"
    assert (await http.get(f"{agent}/schedules")).json() == {"schedules": []}

    monkeypatch.setenv("DEMO_SYNC_EVERY", "2 seconds")
    await hooks[0](runtime)
    await hooks[0](runtime)  # a second worker start changes nothing
    try:
        runs = await _wait_runs(http, agent, "sync-data", 1)
        for _ in range(100):
            row = (await http.get(f"{agent}/workflows/{runs[-1]['workflow_id']}")).json()
            if row["status"] == "complete":
                break
            await asyncio.sleep(0.1)
        assert row["workflow_name"] == "sync_data" and row["result"]["records"] >= 10
        state = (await http.get(f"{agent}/state")).json()["state"]
        assert state["last_sync"]["source"] == "inventory"
    finally:
        await http.delete(f"{agent}/schedules/sync-data")


async def test_a_run_a_schedule_started_takes_its_approval(http: httpx.AsyncClient, agent_name: str) -> None:
    # Its Temporal id is the schedule's own (`.../gate-<time>`), not one derived from its
    # tracking id: the approval reaches it all the same.
    agent = f"/agents/task-agent/{agent_name}"
    body = {"workflow": "approval", "params": {"title": "nightly"}, "every": "1 hour", "id": "gate"}
    assert (await http.post(f"{agent}/schedules", json=body)).status_code == 201
    assert (await http.post(f"{agent}/schedules/gate/trigger")).status_code == 202
    [run] = await _wait_runs(http, agent, "gate", 1)

    async def status() -> str:
        return (await http.get(f"{agent}/workflows/{run['workflow_id']}")).json()["status"]

    await eventually(status, lambda s: s == "waiting", what="the run waiting")
    approved = await http.post(f"{agent}/workflows/{run['workflow_id']}/approve", json={"metadata": "ok"})
    assert approved.status_code == 202, approved.text
    assert await status() in ("running", "complete")  # marked before the answer
    done = await eventually(status, lambda s: s in ("complete", "errored"), what="the run done")
    assert done == "complete"
    assert (await http.delete(f"{agent}/schedules/gate")).json() == {"deleted": 1}
