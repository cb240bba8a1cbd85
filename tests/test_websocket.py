"""The WebSocket protocol with the Python client and raw frames, against a real server."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import httpx
import pytest
import websockets

from agents import AgentRuntime
from agents.client import AgentClient, AgentClientError, AgentHttp
from tests.helpers import eventually, recorded_calls

pytestmark = pytest.mark.usefixtures("worker")


async def raw_frames(url: str, count: int) -> tuple[Any, list[dict[str, Any]]]:
    ws = await websockets.connect(url)
    return ws, [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(count)]


async def test_connect_sends_identity_state_and_mcp_in_order(
    api_server: str, runtime: AgentRuntime, agent_name: str
) -> None:
    ws_base = api_server.replace("http", "ws")
    ws, frames = await raw_frames(f"{ws_base}/agents/recorder-agent/{agent_name}?_pk=c1", 2)
    assert frames == [
        {"type": "cf_agent_identity", "name": agent_name, "agent": "recorder-agent"},
        {"type": "cf_agent_mcp_servers", "mcp": {"servers": {}, "tools": [], "prompts": [], "resources": []}},
    ]  # no state frame: the state was never set
    await ws.close()
    await runtime.agent("recorder-agent", agent_name).set_state({"counter": 3})
    ws, frames = await raw_frames(f"{ws_base}/agents/recorder-agent/{agent_name}", 3)
    assert [f["type"] for f in frames] == ["cf_agent_identity", "cf_agent_state", "cf_agent_mcp_servers"]
    assert frames[0]["stateFollows"] is True and frames[1]["state"] == {"counter": 3}
    await ws.close()


async def test_unknown_agent_type_is_refused_with_1008(api_server: str) -> None:
    async with websockets.connect(f"{api_server.replace('http', 'ws')}/agents/ghost/x") as ws:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "ghost" in closed.value.rcvd.reason


async def test_state_set_by_a_client_reaches_the_others_not_the_sender(api_server: str, agent_name: str) -> None:
    async with (
        AgentClient(api_server, "recorder-agent", agent_name) as a,
        AgentClient(api_server, "recorder-agent", agent_name) as b,
    ):
        seen_by_a: list[Any] = []
        a.on_state(lambda state, source: seen_by_a.append((state, source)))
        b_updates: asyncio.Queue[Any] = asyncio.Queue()
        b.on_state(lambda state, source: b_updates.put_nowait(state))
        await a.set_state({"counter": 7, "by": "a"})
        assert await asyncio.wait_for(b_updates.get(), 5) == {"counter": 7, "by": "a"}
        await asyncio.sleep(0.3)
        assert seen_by_a == [({"counter": 7, "by": "a"}, "client")]  # no echo from the server
        assert b.state == {"counter": 7, "by": "a"}


async def test_rejected_state_gets_an_error_frame_and_changes_nothing(api_server: str, agent_name: str) -> None:
    async with AgentClient(api_server, "guarded-agent", agent_name) as client:
        errors = []
        client.on_message(lambda m: errors.append(m))
        await client._send({"type": "cf_agent_state", "state": {"level": -5}})
        for _ in range(50):
            if errors:
                break
            await asyncio.sleep(0.05)
        assert errors == [{"type": "cf_agent_state_error", "error": "level must not be negative"}]
    http = AgentHttp(api_server, "guarded-agent", agent_name)
    assert (await http.get_state())["version"] == 0
    await http.aclose()


async def test_rpc_results_errors_and_unknown_methods(api_server: str, agent_name: str) -> None:
    async with AgentClient(api_server, "recorder-agent", agent_name) as client:
        assert await client.call("ping") == "pong"
        with pytest.raises(AgentClientError, match="not callable"):
            await client.call("add", 1, 2)  # a method, but not @callable_method
        with pytest.raises(AgentClientError, match="not callable"):
            await client.call("no_such_method")
        with pytest.raises(AgentClientError, match="ValueError: cannot divide by zero"):
            await client.call("divide", 1, 0)
        assert await client.call("divide", 6, 3) == 2


@pytest.mark.parametrize("kind", ["object", "bytes", "nan", "inf"])
async def test_an_rpc_result_json_cannot_carry_is_an_error_reply_over_both_transports(
    api_server: str, agent_name: str, kind: str
) -> None:
    """It used to get no WebSocket reply at all (the caller hung), a plain-text 500 over
    HTTP, and NaN went out bare (browsers' JSON.parse rejects it)."""
    async with AgentClient(api_server, "recorder-agent", agent_name) as client:
        with pytest.raises(AgentClientError, match="unsendable\\(\\) result is not JSON|out of range"):
            await asyncio.wait_for(client.call("unsendable", kind), 5)
        assert await client.call("ping") == "pong"  # the connection stays
    async with httpx.AsyncClient(base_url=api_server) as web:
        response = await web.post(f"/agents/recorder-agent/{agent_name}/rpc/unsendable", json={"args": [kind]})
    assert response.status_code == 500 and response.json()["error"] == "result_not_json", response.text


async def test_a_broadcast_json_cannot_carry_is_refused_and_sends_nothing(api_server: str, agent_name: str) -> None:
    async with AgentClient(api_server, "recorder-agent", agent_name) as client:
        seen: list[Any] = []
        client.on_message(seen.append)
        assert (await client.call("broadcast_nan")).startswith("ValidationError: broadcast message: a number")
        await asyncio.sleep(0.3)
        assert seen == []


async def test_streaming_rpc_sends_chunks_then_done(api_server: str, agent_name: str) -> None:
    async with AgentClient(api_server, "recorder-agent", agent_name) as client:
        chunks: list[Any] = []
        result = await client.call("count_to", 3, on_chunk=chunks.append)
        assert chunks == [1, 2, 3]
        assert result == "done"


async def test_malformed_frames_get_error_frames_and_the_connection_stays(api_server: str, agent_name: str) -> None:
    ws, _ = await raw_frames(f"{api_server.replace('http', 'ws')}/agents/recorder-agent/{agent_name}", 2)
    await ws.send("{not json")
    assert json.loads(await ws.recv()) == {"type": "error", "error": "malformed frame: not JSON"}
    await ws.send(b"\x00\x01")
    assert json.loads(await ws.recv())["type"] == "error"
    await ws.send(json.dumps({"type": "rpc", "id": "x", "method": 5}))
    assert json.loads(await ws.recv())["success"] is False
    await ws.send(json.dumps({"type": "rpc", "id": "y", "method": "ping", "args": []}))
    assert json.loads(await ws.recv()) == {"type": "rpc", "id": "y", "success": True, "result": "pong", "done": True}
    await ws.close()


async def test_oversized_frames_close_with_1009(api_server: str, agent_name: str, runtime: AgentRuntime) -> None:
    ws, _ = await raw_frames(f"{api_server.replace('http', 'ws')}/agents/recorder-agent/{agent_name}", 2)
    await ws.send("x" * (runtime.settings.ws_max_frame_bytes + 1))
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    async with AgentClient(api_server, "recorder-agent", agent_name) as client:  # the server is fine
        assert await client.call("ping") == "pong"


async def test_workflow_progress_state_and_status_reach_clients(api_server: str, agent_name: str) -> None:
    async with AgentClient(api_server, "task-agent", agent_name) as client:
        received: list[dict[str, Any]] = []
        client.on_message(received.append)
        states: list[Any] = []
        client.on_state(lambda state, source: states.append(state))
        run_id = await client.call("start_workflow", "process_items", {"items": ["a", "b", "c"]})
        for _ in range(200):
            if any(m.get("status") == "complete" for m in received):
                break
            await asyncio.sleep(0.05)
    progress = [m["progress"]["processed"] for m in received if m["type"] == "workflow_progress"]
    assert progress == [1, 2, 3]
    statuses = [m["status"] for m in received if m["type"] == "workflow_status"]
    assert statuses == ["running", "complete"]
    assert all(m["workflow_id"] == run_id for m in received)
    assert [s["task_progress"] for s in states] == pytest.approx([1 / 3, 2 / 3, 1.0])


async def test_broadcast_to_clients_from_a_workflow(api_server: str, agent_name: str) -> None:
    http = AgentHttp(api_server, "recorder-agent", agent_name)
    async with AgentClient(api_server, "recorder-agent", agent_name) as client:
        messages = client.messages()
        await http.run_workflow("agent_call_flow")

        async def first_hello() -> dict[str, Any]:
            async for message in messages:
                if message["type"] == "hello":
                    return message
            raise AssertionError("no hello")

        assert await asyncio.wait_for(first_hello(), 10) == {"type": "hello", "total": 5}
    await http.aclose()


async def test_reconnect_after_the_api_restarts_resyncs_state(
    settings: Any, runtime: AgentRuntime, agent_name: str
) -> None:
    from devstack import free_port
    from tests.conftest import serve_api

    port = free_port()
    server, task = await serve_api(settings, port)
    client = AgentClient(f"http://127.0.0.1:{port}", "recorder-agent", agent_name, backoff=(0.05, 0.5))
    await client.connect()
    server.should_exit = True
    await task
    await runtime.agent("recorder-agent", agent_name).set_state({"counter": 42})  # while nobody listens
    server, task = await serve_api(settings, port)
    await client.wait_ready(10)
    for _ in range(100):
        if client.state == {"counter": 42}:
            break
        await asyncio.sleep(0.05)
    assert client.state == {"counter": 42} and client.connects == 2
    assert await client.call("ping") == "pong"
    await client.close()
    server.should_exit = True
    await task


async def test_clients_that_connect_and_drop_at_once_do_not_keep_the_agent_busy(
    api_server: str, runtime: AgentRuntime, agent_name: str
) -> None:
    """200 clients connecting and dropping abruptly made on_connect run in the agent's
    turn for clients already gone (a real call then waited 9.55 s in a 5 x 200 run),
    on_close calls were lost to agent_busy, and every drop logged a traceback."""
    url = f"{api_server.replace('http', 'ws')}/agents/churn-agent/{agent_name}"
    sockets = await asyncio.gather(*(websockets.connect(f"{url}?_pk=c{i}") for i in range(200)))
    for ws in sockets:
        ws.transport.abort()  # gone without a close frame
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with AgentClient(api_server, "churn-agent", agent_name) as client:
        assert await client.call("ping") == "pong"
    assert loop.time() - began < 2.5, "a call waited behind greetings of clients already gone"
    agent = runtime.agent("churn-agent", agent_name)

    async def records() -> tuple[Counter[str], Counter[str]]:
        calls = await recorded_calls(runtime.redis, agent)
        return Counter(c for kind, c in calls if kind == "connect"), Counter(c for kind, c in calls if kind == "close")

    connects, closes = await eventually(records, lambda r: r[0] == r[1], timeout=15, what="an on_close for each")
    assert len(connects) < 100, f"{len(connects)} clients already gone were greeted"
