"""An agent's lifecycle: `on_start` once per activation, before its first call, and
`destroy()`, which leaves no key of the agent in Redis and nothing of it running in
Temporal, and closes its WebSocket clients."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from temporalio.client import Client

from agents import AgentRuntime
from tests.app import starts_key
from tests.helpers import eventually, snapshot, wait_for_status

pytestmark = pytest.mark.usefixtures("worker")


async def test_on_start_runs_once_before_the_first_call_and_again_after_destroy(
    http: httpx.AsyncClient, runtime: AgentRuntime, agent_name: str
) -> None:
    agent = f"/agents/reminder-agent/{agent_name}"
    starts = starts_key(runtime.agent("reminder-agent", agent_name))
    assert await runtime.redis.get(starts) is None  # nothing ran the agent yet
    results = await asyncio.gather(*(http.post(f"{agent}/rpc/bump", json={"args": []}) for _ in range(5)))
    assert sorted(r.json()["result"] for r in results) == [1, 2, 3, 4, 5]
    assert await runtime.redis.get(starts) == "1"
    assert (await http.delete(agent)).json() == {"destroyed": True}
    assert (await http.post(f"{agent}/rpc/bump", json={"args": []})).json()["result"] == 1  # new again
    assert await runtime.redis.get(starts) == "2"  # destroy ended the activation: on_start ran again


async def test_destroy_through_one_process_starts_the_agent_anew_in_every_process(
    two_apis: list[str], runtime: AgentRuntime, agent_name: str
) -> None:
    """Destroy ended the activation of the process that ran it only: through the other
    API, on_start (the README's idiom: create the digest schedule there) never ran again."""
    path = f"/agents/reminder-agent/{agent_name}"
    starts = starts_key(runtime.agent("reminder-agent", agent_name))
    async with httpx.AsyncClient(base_url=two_apis[0]) as one, httpx.AsyncClient(base_url=two_apis[1]) as other:
        for web in (one, other):
            assert (await web.post(f"{path}/rpc/bump", json={"args": []})).status_code == 200
        assert await runtime.redis.get(starts) == "2"  # one activation in each process
        assert (await one.delete(path)).json() == {"destroyed": True}
        assert (await other.post(f"{path}/rpc/bump", json={"args": []})).json()["result"] == 1  # new again
        assert await runtime.redis.get(starts) == "3"  # on_start ran again in the other process
        assert (await one.post(f"{path}/rpc/bump", json={"args": []})).json()["result"] == 2
        assert await runtime.redis.get(starts) == "4"  # and in the process that destroyed it
        assert (await other.post(f"{path}/rpc/bump", json={"args": []})).json()["result"] == 3
        assert await runtime.redis.get(starts) == "4"  # once per activation, not per call


async def test_a_call_waiting_while_destroy_runs_gets_the_turn_after_it_and_keeps_its_write(
    http: httpx.AsyncClient, runtime: AgentRuntime, agent_name: str
) -> None:
    """Destroy deleted its own turn lease mid-scan: a waiting call took the turn while keys
    were still being deleted, and its write was deleted with them."""
    reminder = runtime.agent("reminder-agent", agent_name)
    path = f"/agents/reminder-agent/{agent_name}"
    assert (await http.post(f"{path}/rpc/bump", json={"args": []})).json()["result"] == 1
    async with runtime.redis.pipeline(transaction=False) as pipe:  # keys enough for a scan of many rounds
        for i in range(6000):
            pipe.set(reminder.keys.effect(f"filler-{i}"), 1)
        await pipe.execute()

    async def bump_soon() -> int:
        await asyncio.sleep(0.005)
        return (await http.post(f"{path}/rpc/bump", json={"args": []})).json()["result"]

    destroyed, bumped = await asyncio.gather(http.delete(path), bump_soon())
    assert destroyed.json() == {"destroyed": True} and bumped == 1  # after destroy: a new agent
    assert (await reminder.refresh_state())["n"] == 1  # its write was kept
    assert not [k async for k in runtime.redis.scan_iter(match=reminder.keys.effect("filler-*"))]


async def running_in_temporal(client: Client, agent_name: str) -> list[str]:
    query = f"AgentType = 'reminder-agent' AND AgentName = '{agent_name}' AND ExecutionStatus = 'Running'"
    return [execution.id async for execution in client.list_workflows(query)]


async def schedules_in_temporal(client: Client, agent_name: str) -> list[str]:
    return [s.id async for s in await client.list_schedules() if s.id.startswith(f"reminder-agent/{agent_name}/")]


async def test_destroy_leaves_no_key_and_nothing_running_and_closes_clients(
    api_server: str, runtime: AgentRuntime, client: Client, agent_name: str
) -> None:
    reminder = runtime.agent("reminder-agent", agent_name)
    await reminder.set_state({"fired": {}, "order": [], "n": 7})
    run_id = await reminder.run_workflow("event_flow", {})
    finished = await reminder.run_workflow("event_flow", {}, retention={"success": "1 hour"})
    await wait_for_status(reminder, run_id, "waiting")
    await wait_for_status(reminder, finished, "waiting")
    await reminder.send_workflow_event(finished, "go")
    await wait_for_status(reminder, finished, "complete")  # and due for removal in an hour
    await reminder.schedule(3600, "remind", "later")
    await reminder.schedule("0 8 * * *", "remind", "daily")
    await reminder.schedule_workflow("event_flow", {}, every="1 hour")
    await reminder.queue("record", {"i": 0})  # the queue workflow stays up, idle, a minute after
    await eventually(reminder.refresh_state, lambda s: s["order"] == [{"i": 0}], what="the queued call ran")
    async with httpx.AsyncClient(base_url=api_server) as web:
        ws = await websockets.connect(f"{api_server.replace('http', 'ws')}/agents/reminder-agent/{agent_name}")
        await eventually(
            lambda: running_in_temporal(client, agent_name), lambda ids: len(ids) >= 2, what="run and queue running"
        )
        assert await snapshot(runtime.redis, "reminder-agent", agent_name) != {}

        assert (await web.delete(f"/agents/reminder-agent/{agent_name}")).json() == {"destroyed": True}

        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
        assert await snapshot(runtime.redis, "reminder-agent", agent_name) == {}
        due = await runtime.redis.zrange(f"{runtime.settings.redis_key_prefix}retention", 0, -1)
        assert not any(agent_name in member for member in due)
        assert await schedules_in_temporal(client, agent_name) == []
        await eventually(
            lambda: running_in_temporal(client, agent_name), lambda ids: ids == [], what="nothing running in Temporal"
        )
        state = (await web.get(f"/agents/reminder-agent/{agent_name}/state")).json()
        assert state["state"] == {"fired": {}, "order": [], "n": 0}  # the agent starts over
