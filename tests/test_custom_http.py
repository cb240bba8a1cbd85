"""An agent's own HTTP (`on_request`): any method and sub-path no framework route takes,
answered in the agent's turn, with authentication and scopes as on every other route."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from agents import AgentRuntime, Settings
from devstack import free_port
from tests.conftest import serve_api

ADMIN, READER = "admin-key", "reader-key"


@pytest.fixture
async def web(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    keys = {ADMIN: "control:*/*", READER: "read:webhook-agent/*"}
    srv, task = await serve_api(settings.model_copy(update={"api_keys": keys}), free_port())
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{srv.config.port}", timeout=30) as client:
        yield client
    srv.should_exit = True
    await task


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_get_and_a_streaming_post_are_answered_by_on_request(
    web: httpx.AsyncClient, runtime: AgentRuntime, agent_name: str
) -> None:
    base = f"/agents/webhook-agent/{agent_name}"
    hello = await web.get(f"{base}/hello?x=1", headers=bearer(READER))
    assert hello.status_code == 200 and hello.json() == {"hello": agent_name, "query": {"x": "1"}}
    async with web.stream("POST", f"{base}/hook", json={"n": 3}, headers=bearer(ADMIN)) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        chunks = [chunk async for chunk in response.aiter_text()]
    assert "".join(chunks) == "chunk 0\nchunk 1\nchunk 2\n"
    assert (await runtime.agent("webhook-agent", agent_name).refresh_state())["hooks"] == 1


async def test_scopes_apply_and_framework_routes_keep_precedence(web: httpx.AsyncClient, agent_name: str) -> None:
    base = f"/agents/webhook-agent/{agent_name}"
    assert (await web.get(f"{base}/hello")).status_code == 401
    refused = await web.post(f"{base}/hook", json={"n": 1}, headers=bearer(READER))
    assert refused.status_code == 403 and "control" in refused.json()["message"]
    state = await web.get(f"{base}/state", headers=bearer(READER))
    assert state.status_code == 200 and state.json()["state"] == {"hooks": 0}  # the framework's route
    wrong_method = await web.delete(f"{base}/state", headers=bearer(ADMIN))
    assert wrong_method.status_code == 405
    unknown = await web.get(f"/agents/recorder-agent/{agent_name}/nothing/here", headers=bearer(ADMIN))
    assert unknown.status_code == 404 and "on_request" in unknown.json()["message"]
