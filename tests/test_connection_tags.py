"""Connections with tags and state (issue 31, item 2): `get_connection_tags` tags a client
as it connects; `broadcast(tags=...)` reaches the clients with a tag on every API process;
`get_connections(tag)` / `get_connection(id)` find this process's; a connection's own
state lives as long as it does; `on_error` hears of a connection hook that raised."""

from __future__ import annotations

import json
from typing import Any

import pytest
import websockets

from agents import AgentRuntime
from agents.client import AgentClient
from tests.app import calls_key
from tests.helpers import eventually, polled


async def test_a_broadcast_to_a_tag_reaches_its_clients_on_every_api_process(
    two_apis: list[str], agent_name: str
) -> None:
    got: dict[str, list[Any]] = {}
    clients = []
    for api, room, who in [(0, "red", "r0"), (1, "red", "r1"), (0, "blue", "b0"), (1, "blue", "b1")]:
        client = AgentClient(two_apis[api], "room-agent", agent_name, connection_id=who, query={"room": room})
        got[who] = []
        client.on_message(got[who].append)
        await client.connect()
        clients.append(client)
    try:
        await clients[2].call("shout", "red", "hi")
        await eventually(polled(lambda: got), lambda g: g["r0"] and g["r1"], what="both red clients")
        await clients[0].call("shout", "blue", "ho")
        await eventually(polled(lambda: got), lambda g: g["b0"] and g["b1"], what="both blue clients")
        assert [m["text"] for m in got["r0"]] == ["hi"] == [m["text"] for m in got["r1"]]
        assert [m["text"] for m in got["b0"]] == ["ho"] == [m["text"] for m in got["b1"]]
        assert await clients[0].call("here", "red") == ["r0"]  # this process's only
        assert await clients[1].call("here", "blue") == ["b1"]
    finally:
        for client in clients:
            await client.close()


async def test_a_connections_state_is_its_own_and_on_error_hears_of_a_failing_hook(
    api_server: str, runtime: AgentRuntime, agent_name: str
) -> None:
    url = f"{api_server.replace('http', 'ws')}/agents/room-agent/{agent_name}"

    async def seen(ws: Any) -> dict[str, Any]:
        while (frame := json.loads(await ws.recv()))["type"] not in ("seen", "cf_agent_error", "error"):
            pass
        return frame

    async with websockets.connect(f"{url}?_pk=one&room=red") as one, websockets.connect(f"{url}?_pk=two") as two:
        for _ in range(2):
            await one.send(json.dumps({"type": "count"}))
            first = await seen(one)
        await two.send(json.dumps({"type": "count"}))
        second = await seen(two)
        assert first == {"type": "seen", "state": {"n": 2}, "found": True, "tags": ["one", "red"]}
        assert second["state"] == {"n": 1} and second["tags"] == ["two", "lobby"]
        await one.send(json.dumps({"type": "boom"}))
        assert "boom" in json.dumps(await seen(one))
    errors = await eventually(
        lambda: runtime.redis.lrange(calls_key(runtime.agent("room-agent", agent_name)), 0, -1), bool, what="on_error"
    )
    assert errors == ["one:boom"]


@pytest.mark.parametrize("room", ["x" * 257, ""])
async def test_bad_tags_refuse_the_connection(api_server: str, agent_name: str, room: str) -> None:
    url = f"{api_server.replace('http', 'ws')}/agents/room-agent/{agent_name}?room={room}"
    async with websockets.connect(url) as ws:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "connection tags" in closed.value.rcvd.reason
