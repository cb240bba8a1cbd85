"""Bad input gets a clear error and changes nothing: every refused request below leaves
the agent's Redis keys byte-for-byte as they were and starts nothing on Temporal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from temporalio.client import Client

import api
from agents import Settings
from tests.helpers import eventually, snapshot

LIMIT = 4096


@pytest.fixture
async def small(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a small body limit, so a 'too large' body is cheap to send."""
    application = api.app(settings.model_copy(update={"max_body_bytes": LIMIT}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


def chunks(size: int) -> Any:
    async def body() -> AsyncIterator[bytes]:
        sent = 0
        while sent < size:
            yield b'{"x": "' if sent == 0 else b"a" * 1024
            sent += 1024

    return body()


async def test_refused_input_changes_nothing(
    small: httpx.AsyncClient, redis: Redis, client: Client, agent_name: str
) -> None:
    base = f"/agents/recorder-agent/{agent_name}"
    assert (await small.put(f"{base}/state", json={"counter": 1})).status_code == 200
    assert (await small.post(f"{base}/workflows", json={"workflow": "event_flow", "id": "keep"})).status_code == 201
    before = await snapshot(redis, "recorder-agent", agent_name)
    huge = "x" * LIMIT
    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        (
            "POST",
            f"{base}/workflows",
            {"json": {"workflow": "event_flow", "params": {"x": huge}}},
            413,
            "MAX_BODY_BYTES",
        ),
        ("PUT", f"{base}/state", {"json": {"blob": huge}}, 413, "over the limit of 4096 bytes"),
        (
            "PATCH",
            f"{base}/state",
            {"content": chunks(LIMIT * 2), "headers": {"content-type": "application/json"}},
            413,
            "MAX_BODY_BYTES",
        ),
        ("PUT", f"{base}/state", {"json": [1, 2]}, 422, "body"),
        (
            "PATCH",
            f"{base}/state",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            422,
            "JSON",
        ),
        ("POST", f"{base}/workflows", {"json": {"workflow": "event_flow", "params": [1]}}, 422, "params"),
        ("POST", f"{base}/workflows", {"json": {"workflow": "event_flow", "metadata": "x"}}, 422, "metadata"),
        ("POST", f"{base}/workflows", {"json": {"workflow": "event_flow", "id": "has space"}}, 422, "not allowed"),
        ("POST", f"{base}/workflows", {"json": {"workflow": "event_flow", "id": "k" * 129}}, 422, "not allowed"),
        ("POST", f"{base}/workflows", {"json": {"workflow": "event_flow", "id": "keep"}}, 409, "keep"),
        ("POST", f"{base}/workflows", {"json": {"workflow": "nope"}}, 404, "unknown workflow 'nope'"),
        ("POST", f"{base}/workflows", {"json": {"workflow": "event_flow", "surprise": 1}}, 422, "surprise"),
        ("POST", f"{base}/workflows/keep/events", {"json": {"type": "bad type!"}}, 422, "event type"),
        ("POST", f"{base}/workflows/keep/events", {"json": {"type": "t" * 101}}, 422, "event type"),
        ("GET", f"{base}/workflows?limit=0", {}, 422, "limit"),
        ("GET", f"{base}/workflows?status=sleeping", {}, 422, "unknown status"),
        ("GET", f"{base}/workflows?cursor=%%%", {}, 400, "cursor"),
        ("POST", f"{base}/rpc/add", {"json": {"args": [1, 2]}}, 404, "no callable method"),
        ("POST", f"/agents/recorder-agent/{'n' * 129}/workflows", {"json": {"workflow": "event_flow"}}, 422, "name"),
        ("POST", "/agents/recorder-agent/bad%20name/workflows", {"json": {"workflow": "event_flow"}}, 422, "name"),
        ("POST", f"/agents/ghost/{agent_name}/workflows", {"json": {"workflow": "event_flow"}}, 404, "ghost"),
    ]
    for method, path, kwargs, status, said in cases:
        response = await small.request(method, path, **kwargs)
        body = response.json()
        assert response.status_code == status, (method, path, response.text)
        assert said in body["message"] or said in str(body.get("errors", "")), (method, path, body)
    assert await snapshot(redis, "recorder-agent", agent_name) == before

    async def started() -> list[str]:
        return [w.id async for w in client.list_workflows(f'AgentName="{agent_name}"')]

    # Visibility lags a little: wait for the one run to show, then check it is the only one.
    assert await eventually(started, bool, what="the kept run in visibility") == [f"recorder-agent/{agent_name}/keep"]


async def test_a_body_at_the_limit_is_accepted(small: httpx.AsyncClient, agent_name: str) -> None:
    blob = "x" * (LIMIT - len('{"blob":""}'))
    response = await small.put(f"/agents/recorder-agent/{agent_name}/state", json={"blob": blob})
    assert response.status_code == 200, response.text
