"""The agent as an actor: one call at a time per agent across every process, with the
state read fresh as each call's turn begins (`ProbeAgent` in tests/app.py)."""

from __future__ import annotations

import asyncio
import contextvars
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents import AgentBusyError, AgentRuntime, Settings, TurnLostError
from agents.client import AgentClient, AgentClientError
from devstack import free_port

from .conftest import serve_api
from .helpers import eventually, start_api_process, wait_for_status

AGENT = "probe-agent"


def elsewhere(coro: Any) -> asyncio.Task[Any]:
    """Run `coro` as another caller would: a task that does not share this one's turn
    (a task inherits its creator's turns, as a call's own helpers should)."""
    return asyncio.create_task(coro, context=contextvars.Context())


async def _state(runtime: AgentRuntime, name: str) -> dict[str, Any]:
    return await runtime.agent(AGENT, name).refresh_state()


async def test_fifty_concurrent_bumps_over_two_api_processes_by_http_and_websocket_lose_nothing(
    two_apis: list[str], runtime: AgentRuntime, agent_name: str
) -> None:
    clients = [AgentClient(base, AGENT, agent_name) for base in two_apis]
    for client in clients:
        await client.connect()
    try:
        async with httpx.AsyncClient(timeout=30) as web:

            async def over_http(i: int) -> int:
                reply = await web.post(f"{two_apis[i % 2]}/agents/{AGENT}/{agent_name}/rpc/bump", json={"args": []})
                assert reply.status_code == 200, reply.text
                return reply.json()["result"]

            async def over_websocket(i: int) -> int:
                return await clients[i % 2].call("bump")

            results = await asyncio.gather(*(over_http(i) if i % 2 else over_websocket(i) for i in range(50)))
    finally:
        for client in clients:
            await client.close()
    # Every call saw the state its predecessor left: each count was handed out once.
    assert sorted(results) == list(range(1, 51))
    assert (await _state(runtime, agent_name))["n"] == 50


async def test_read_modify_write_across_an_await_keeps_every_update(http: httpx.AsyncClient, agent_name: str) -> None:
    url = f"/agents/{AGENT}/{agent_name}/rpc/slow_bump"
    replies = await asyncio.gather(*(http.post(url, json={"args": []}) for _ in range(20)))
    assert sorted(r.json()["result"] for r in replies) == list(range(1, 21))


@pytest.mark.usefixtures("worker")
async def test_progress_callbacks_of_ten_concurrent_runs_are_counted_exactly(
    runtime: AgentRuntime, agent_name: str
) -> None:
    agent = runtime.agent(AGENT, agent_name)
    ids = await asyncio.gather(*(agent.run_workflow("probe_flow", {"reports": 5}) for _ in range(10)))
    for workflow_id in ids:
        await wait_for_status(agent, workflow_id, "complete")
    state = await agent.refresh_state()
    assert state["progress"] == 50  # on_workflow_progress: read, await, write; 50 reports
    assert state["n"] == 10  # self.agent.bump() from each run


async def test_a_holder_killed_mid_turn_frees_the_agent_within_its_lease(
    settings: Settings, runtime: AgentRuntime, agent_name: str, tmp_path: Path
) -> None:
    port = free_port()
    proc = await start_api_process(settings, port, tmp_path / "api.log")
    agent = runtime.agent(AGENT, agent_name)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as web:
            held = asyncio.ensure_future(web.post(f"/agents/{AGENT}/{agent_name}/rpc/hold", json={"args": [60]}))
            await eventually(agent.refresh_state, lambda s: s.get("holding") is True, what="the turn held")
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            with pytest.raises(httpx.TransportError):
                await held
    finally:
        proc.kill()
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    async with agent.turn():  # waits for the dead holder's lease to lapse
        waited = loop.time() - killed_at
        await agent.merge_state({"after": True})
    assert waited <= settings.agent_turn_lease + 1.0, waited
    assert (await agent.refresh_state())["holding"] is True  # the dead call never finished


@pytest.mark.usefixtures("worker")
async def test_no_deadlock_when_a_method_starts_a_run_that_calls_back_or_calls_itself(
    http: httpx.AsyncClient, runtime: AgentRuntime, agent_name: str
) -> None:
    base = f"/agents/{AGENT}/{agent_name}/rpc"
    # A run whose progress, agent call and state come back to this agent, started from its turn.
    started = await http.post(f"{base}/start_own", json={"args": [3]})
    assert started.status_code == 200, started.text
    agent = runtime.agent(AGENT, agent_name)
    info = await wait_for_status(agent, started.json()["result"], "complete")
    assert info.result == 1
    # Its own methods, and its own turn, from within its turn.
    assert (await http.post(f"{base}/bump_twice", json={"args": []})).json() == {"result": 3}
    # An event to its own run, which then writes this agent's state.
    workflow_id = await agent.run_workflow("probe_flow", {"reports": 0, "wait": True})
    await wait_for_status(agent, workflow_id, "waiting")
    nudged = await http.post(f"{base}/nudge", json={"args": [workflow_id]})
    assert nudged.json() == {"result": "sent"}, nudged.text
    await wait_for_status(agent, workflow_id, "complete")
    assert (await agent.refresh_state())["nudged_by"] == "agent"


async def test_an_interleaving_method_runs_while_a_turn_based_one_waits(
    http: httpx.AsyncClient, agent_name: str
) -> None:
    base = f"/agents/{AGENT}/{agent_name}/rpc"
    holding = asyncio.ensure_future(http.post(f"{base}/hold", json={"args": [1.5]}))
    await asyncio.sleep(0.3)
    waiting = asyncio.ensure_future(http.post(f"{base}/bump", json={"args": []}))
    loop = asyncio.get_running_loop()
    started = loop.time()
    peeked = await http.post(f"{base}/peek", json={"args": []})
    assert loop.time() - started < 0.5 and peeked.json()["result"]["holding"] is True
    await asyncio.sleep(0.3)
    assert not waiting.done()  # the turn-based call still waits for the turn (held 1.5 s)
    assert (await holding).json() == {"result": "released"}
    assert (await waiting).json() == {"result": 1}


async def test_a_call_that_cannot_get_the_turn_fails_clearly_over_http_and_websocket(
    settings: Settings, runtime: AgentRuntime, agent_name: str
) -> None:
    runtime.turns.wait = 0.3  # this process's callers give up quickly

    async def take_turn() -> None:
        async with runtime.agent(AGENT, agent_name).turn():
            pass

    port = free_port()
    server, serving = await serve_api(settings.model_copy(update={"agent_turn_wait": 0.5}), port)
    api = f"http://127.0.0.1:{port}"
    agent = runtime.agent(AGENT, agent_name)
    try:
        async with agent.turn(), httpx.AsyncClient(timeout=30) as web:
            with pytest.raises(AgentBusyError, match="is busy"):
                await elsewhere(take_turn())
            reply = await web.post(f"{api}/agents/{AGENT}/{agent_name}/rpc/bump", json={"args": []})
            assert reply.status_code == 503 and reply.json()["error"] == "agent_busy", reply.text
            async with AgentClient(api, AGENT, agent_name) as client:
                with pytest.raises(AgentClientError, match="is busy"):
                    await client.call("bump")
                assert await client.call("peek") == {"n": 0, "progress": 0, "seen": []}  # interleaves
        assert (await agent.refresh_state())["n"] == 0
    finally:
        server.should_exit = True
        await serving


async def test_calls_from_one_websocket_connection_run_in_the_order_sent(
    api_server: str, runtime: AgentRuntime, agent_name: str
) -> None:
    async with AgentClient(api_server, AGENT, agent_name) as client:
        await asyncio.gather(*(client.call("append", i) for i in range(30)))
    assert (await _state(runtime, agent_name))["seen"] == list(range(30))


async def test_a_write_from_a_turn_that_lapsed_is_refused(runtime: AgentRuntime, redis: Any, agent_name: str) -> None:
    agent = runtime.agent(AGENT, agent_name)
    with pytest.raises(TurnLostError):
        async with agent.turn():
            await redis.delete(agent.keys.turn)  # as if the lease ran out while the call stalled
            async with runtime.agent(AGENT, agent_name).turn():
                pass  # re-entrant: the same call chain, nothing to wait for
            await agent.merge_state({"n": 99})
    assert (await agent.refresh_state())["n"] == 0
    # A turn taken meanwhile by another call is not disturbed by the stale holder's release.
    async with agent.turn():
        await agent.merge_state({"n": 1})
    assert (await agent.refresh_state())["n"] == 1


async def test_workflow_state_writes_wait_for_a_turn_in_progress(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent(AGENT, agent_name)
    other = runtime.agent(AGENT, agent_name)  # a merge from outside, as a workflow's step makes
    async with agent.turn():
        n = agent.state["n"]
        merge = elsewhere(other.merge_state({"n": 1000}))
        await asyncio.sleep(0.2)
        assert not merge.done()  # queued behind the turn
        await agent.merge_state({"n": n + 1})
    await merge
    assert (await agent.refresh_state())["n"] == 1000
