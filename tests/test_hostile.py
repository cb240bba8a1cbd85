"""Hardening, round two: what a hostile client tried, against the real API on a real
socket with authentication on. Each refused request gets a clear 4xx (or an error frame)
and leaves the agent's Redis keys byte-for-byte as they were."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis

from agents import AgentRuntime, Settings
from agents.client import AgentClient
from devstack import free_port
from tests.app import calls_key
from tests.conftest import serve_api
from tests.helpers import eventually, polled, snapshot

ADMIN, READER = "admin-key", "reader-key"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[str]:
    keys = {ADMIN: "control:*/*", READER: "read:recorder-agent/*"}
    srv, task = await serve_api(settings.model_copy(update={"api_keys": keys}), free_port())
    yield f"http://127.0.0.1:{srv.config.port}"
    srv.should_exit = True
    await task


@pytest.fixture
async def web(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, headers=AUTH, timeout=30) as client:
        yield client


def ws_url(server: str, agent: str, name: str, **query: str) -> str:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return f"{server.replace('http', 'ws')}/agents/{agent}/{name}?token={ADMIN}{extra}"


async def raw_get(server: str, target: str, headers: bytes = b"") -> tuple[int, bytes]:
    """A GET with the request target sent exactly as given (httpx would normalize `..`)."""
    host, port = server.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n")
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), head + b"\n\n" + body


async def test_a_websocket_client_cannot_pose_as_the_server(
    server: str, web: httpx.AsyncClient, redis: Redis, runtime: AgentRuntime, agent_name: str
) -> None:
    for reserved in ("server", "workflow", "has space"):
        async with websockets.connect(
            ws_url(server, "gatekeeper-agent", agent_name, _pk=reserved.replace(" ", "%20"))
        ) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
            assert "not allowed" in closed.value.rcvd.reason
    async with websockets.connect(ws_url(server, "gatekeeper-agent", agent_name, _pk="c1")) as ws:
        await ws.send(json.dumps({"type": "cf_agent_state", "state": {"admin": True}}))
        while (frame := json.loads(await ws.recv()))["type"] != "cf_agent_state_error":
            pass
        assert "only the server may grant admin" in frame["error"]
        await ws.send(json.dumps({"type": "cf_agent_state", "state": {"admin": False, "note": "hi"}}))
        await eventually(
            lambda: web.get(f"/agents/gatekeeper-agent/{agent_name}/state"),
            lambda r: r.json()["state"].get("note") == "hi",
            what="the client's plain write",
        )
    assert (await web.put(f"/agents/gatekeeper-agent/{agent_name}/state", json={"admin": True})).status_code == 200
    recorded = await redis.lrange(calls_key(runtime.agent("gatekeeper-agent", agent_name)), 0, -1)
    # on_state_update saw the client's Connection object (never a string it could choose), then the server.
    assert [json.loads(raw) for raw in recorded] == ["Connection:c1", "server"]


async def test_metadata_indexes_cannot_collide_and_bulk_delete_takes_only_matches(
    web: httpx.AsyncClient, agent_name: str
) -> None:
    base = f"/agents/recorder-agent/{agent_name}/workflows"
    for run_id, metadata in (("one", {"a=b": "c"}), ("two", {"a": "b=c"}), ("s", {"n": "1"}), ("i", {"n": 1})):
        started = await web.post(base, json={"workflow": "event_flow", "id": run_id, "metadata": metadata})
        assert started.status_code == 201, started.text
    found = await web.get(f"{base}?metadata.a=b%3Dc")
    assert [w["workflow_id"] for w in found.json()["workflows"]] == ["two"]
    # The string "1" and the number 1 are the same to a filter (a query string has no types).
    assert sorted(w["workflow_id"] for w in (await web.get(f"{base}?metadata.n=1")).json()["workflows"]) == ["i", "s"]
    deleted = await web.delete(f"{base}?metadata.a%3Db=c")
    assert deleted.json() == {"deleted": 1}
    assert (await web.get(f"{base}/two")).status_code == 200
    assert (await web.get(f"{base}/one")).status_code == 404


async def test_deep_nesting_and_lone_surrogates_are_refused_and_store_nothing(
    server: str, web: httpx.AsyncClient, redis: Redis, agent_name: str
) -> None:
    base = f"/agents/recorder-agent/{agent_name}"
    assert (await web.put(f"{base}/state", json={"counter": 1})).status_code == 200
    assert (await web.post(f"{base}/workflows", json={"workflow": "event_flow", "id": "keep"})).status_code == 201
    before = await snapshot(redis, "recorder-agent", agent_name)
    deep: Any = []
    for _ in range(900):
        deep = [deep]
    lone = "\ud800"
    cases: list[tuple[str, str, Any, int, str]] = [
        ("PATCH", f"{base}/state", {"x": deep}, 422, "nested deeper than 64"),
        ("PUT", f"{base}/state", {"x": deep}, 422, "nested deeper than 64"),
        ("PATCH", f"{base}/state", {lone: 1}, 422, "lone surrogate"),
        ("PATCH", f"{base}/state", {"x": f"a{lone}b"}, 422, "lone surrogate"),
        ("POST", f"{base}/workflows", {"workflow": "event_flow", "metadata": {"m": _deep(500)}}, 422, "metadata"),
        ("POST", f"{base}/workflows", {"workflow": "event_flow", "metadata": {lone: "x"}}, 422, "lone surrogate"),
        ("POST", f"{base}/workflows", {"workflow": "event_flow", "metadata": {"x": lone}}, 422, "lone surrogate"),
        ("POST", f"{base}/workflows", {"workflow": "event_flow", "params": {"p": lone}}, 422, "lone surrogate"),
        ("POST", f"{base}/workflows", {"workflow": "event_flow", "params": {"p": _deep(100)}}, 422, "params"),
        ("POST", f"{base}/workflows/keep/events", {"type": "go", "payload": _deep(100)}, 422, "event payload"),
        ("POST", f"{base}/workflows/keep/events", {"type": "go", "payload": {"x": lone}}, 422, "lone surrogate"),
        ("POST", f"{base}/workflows/keep/approve", {"reason": lone}, 422, "lone surrogate"),
        ("POST", f"{base}/workflows/keep/reject", {"reason": f"no{lone}"}, 422, "lone surrogate"),
        ("POST", f"{base}/rpc/ping", {"args": [lone]}, 422, "lone surrogate"),
        ("POST", f"{base}/rpc/ping", {"args": [1]}, 422, "too many positional arguments"),
        ("POST", f"{base}/rpc/divide", {"args": [1]}, 422, "missing a required argument"),
        ("POST", f"{base}/rpc/divide", {"args": ["a", "b"]}, 400, "TypeError"),
        (
            "POST",
            f"{base}/workflows",
            {"workflow": "event_flow", "retention": {"success": "99999999999999 days"}},
            422,
            "out of range",
        ),
    ]
    for method, path, body, status, said in cases:
        # json.dumps escapes a lone surrogate as `\ud800` (httpx's json= cannot encode it)
        response = await web.request(
            method, path, content=json.dumps(body), headers={"content-type": "application/json"}
        )
        assert response.status_code == status, (method, path, response.text[:300])
        assert said in response.json()["message"], (method, path, response.json())
    infinite = await web.patch(f"{base}/state", content=b'{"x": 1e999}', headers={"content-type": "application/json"})
    assert infinite.status_code == 422 and "Infinity" in infinite.json()["message"]
    for query in ("created_before=%C2%B2", "created_before=99999999999999999999999"):
        refused = await web.delete(f"{base}/workflows?{query}")
        assert refused.status_code == 422, (query, refused.text)
    assert await snapshot(redis, "recorder-agent", agent_name) == before
    assert (await web.get(f"{base}/state")).json()["state"] == {"counter": 1}


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"d": value}
    return value


async def test_hostile_websocket_frames_get_error_frames_and_store_nothing(
    server: str, redis: Redis, runtime: AgentRuntime, agent_name: str
) -> None:
    await runtime.agent("recorder-agent", agent_name).set_state({"counter": 1})
    before = await snapshot(redis, "recorder-agent", agent_name)
    async with AgentClient(server, "recorder-agent", agent_name, token=ADMIN) as bystander:
        heard: list[Any] = []
        bystander.on_message(heard.append)
        async with websockets.connect(ws_url(server, "recorder-agent", agent_name)) as ws:
            frames = [
                json.dumps({"type": "cf_agent_state", "state": {"x": _deep(200)}}),
                json.dumps({"type": "cf_agent_state", "state": {"x": "\ud800"}}),
                '{"type": "cf_agent_state", "state": {"x": 1e999}}',
                "[" * 100_000 + "]" * 100_000,
                json.dumps({"type": "rpc", "id": "r", "method": "ping", "args": ["\udfff"]}),
            ]
            for frame in frames:
                await ws.send(frame)
            errors = []
            while len(errors) < len(frames):
                reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if reply["type"] in ("cf_agent_state_error", "error") or reply.get("success") is False:
                    errors.append(reply)
            assert [e["type"] for e in errors].count("cf_agent_state_error") == 3, errors
            await ws.send(json.dumps({"type": "rpc", "id": "last", "method": "ping", "args": []}))
            while (reply := json.loads(await asyncio.wait_for(ws.recv(), 10))).get("id") != "last":
                pass
            assert reply["result"] == "pong"  # the connection is still served
        assert await snapshot(redis, "recorder-agent", agent_name) == before
        assert bystander.state == {"counter": 1} and not any(m.get("type") == "cf_agent_state" for m in heard)
        await eventually(polled(lambda: bystander.connects), lambda n: n == 1, what="bystander stays connected")


async def test_unauthenticated_oddities_answer_4xx_not_500(server: str) -> None:
    for target in (
        "/%00",
        "/" + "a" * 300,
        "/workflows/../index.html",
        "/workflows/..%2Findex.html",
        "/agents/recorder-agent/x/..%2F..%2Findex.html",
    ):
        status, response = await raw_get(server, target)
        assert status == 401, (target, response[:400])  # decided as an API path: fail closed
    status, response = await raw_get(server, "/healthz", b"X-Request-ID: \xff\xfe\r\n")
    assert status == 200 and b"\xff" not in response.split(b"\n\n")[0]
    status, response = await raw_get(server, "/healthz", b"X-Request-ID: ok-123\r\n")
    assert b"x-request-id: ok-123" in response.lower()
    status, _ = await raw_get(server, "/app.js")  # the page's own files stay public
    assert status == 200


async def test_metrics_need_read_on_every_agent(web: httpx.AsyncClient) -> None:
    assert (await web.get("/metrics")).status_code == 200
    reader = await web.get("/metrics", headers={"Authorization": f"Bearer {READER}"})
    assert reader.status_code == 403 and "*/*" in reader.json()["message"]
