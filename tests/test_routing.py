"""Routing options (issue 31, item 6): AGENTS_PREFIX puts every agent route and socket
under another path (authorization follows it), and an agent type's `on_before_request` /
`on_before_connect` answer or refuse before anything of the agent runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import websockets
from pydantic import ValidationError

from agents import AgentRuntime
from agents.client import AgentClient, AgentHttp
from agents.core.settings import Settings
from devstack import free_port
from tests.conftest import serve_api

OURS, OTHERS = "prefix-key-ours-0123456789", "prefix-key-others-0123456789"


@pytest.fixture
async def prefixed_api(settings: Settings, agent_name: str) -> AsyncIterator[str]:
    keys = {OURS: f"control:recorder-agent/{agent_name}", OTHERS: "control:recorder-agent/someone-else"}
    port = free_port()
    server, task = await serve_api(
        settings.model_copy(update={"agents_prefix": "/api/v1/agents", "api_keys": keys}), port
    )
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_agents_live_under_the_prefix_and_authorization_follows_it(
    prefixed_api: str, runtime: AgentRuntime, agent_name: str
) -> None:
    async with AgentHttp(prefixed_api, "recorder-agent", agent_name, token=OURS, prefix="/api/v1/agents") as http:
        await http.merge_state({"at": "prefix"})
        assert (await http.get_state())["state"] == {"counter": 0, "at": "prefix"}
    async with httpx.AsyncClient(base_url=prefixed_api) as web:
        old = await web.get(f"/agents/recorder-agent/{agent_name}/state", headers={"Authorization": f"Bearer {OURS}"})
        assert old.status_code == 404  # the default prefix is not served any more
        theirs = await web.get(
            f"/api/v1/agents/recorder-agent/{agent_name}/state", headers={"Authorization": f"Bearer {OTHERS}"}
        )
        assert theirs.status_code == 403  # scopes are checked under the new prefix too
        paths = (await web.get("/openapi.json", headers={"Authorization": f"Bearer {OURS}"})).json()["paths"]
        assert "/api/v1/agents/{agent}/{name}/state" in paths and "/workflows/{workflow_id}" in paths
    async with AgentClient(prefixed_api, "recorder-agent", agent_name, token=OURS, prefix="/api/v1/agents") as client:
        assert client.state == {"counter": 0, "at": "prefix"}
    wrong = f"{prefixed_api.replace('http', 'ws')}/api/v1/agents/recorder-agent/{agent_name}?token={OTHERS}"
    async with websockets.connect(wrong) as ws:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await ws.recv()
    assert (
        closed.value.rcvd is not None and closed.value.rcvd.code == 1008 and "may not read" in closed.value.rcvd.reason
    )
    assert (await runtime.load_agent("recorder-agent", agent_name)).state == {"counter": 0, "at": "prefix"}


@pytest.mark.parametrize("prefix", ["agents", "/", "/a b", "/workflows", "/metrics/agents"])
def test_a_prefix_that_is_not_a_path_or_hides_a_route_is_refused(prefix: str) -> None:
    with pytest.raises(ValidationError, match="AGENTS_PREFIX"):
        Settings(agents_prefix=prefix)
    assert Settings(agents_prefix="/api/agents/").agents_prefix == "/api/agents"


async def test_on_before_request_answers_before_the_agent_is_touched(
    http: httpx.AsyncClient, runtime: AgentRuntime, agent_name: str
) -> None:
    url = f"/agents/door-agent/{agent_name}/state"
    refused = await http.put(url, json={"x": 1})
    assert refused.status_code == 429 and refused.json() == {
        "error": "no_pass",
        "message": f"{agent_name} wants x-pass",
    }
    assert (await runtime.load_agent("door-agent", agent_name)).state == {}  # nothing written
    passed = await http.put(url, json={"x": 1}, headers={"x-pass": "yes"})
    assert passed.status_code == 200 and passed.json()["state"] == {"x": 1}


async def test_on_before_connect_refuses_a_socket_with_its_status_and_reason(api_server: str, agent_name: str) -> None:
    base = f"{api_server.replace('http', 'ws')}/agents/door-agent/{agent_name}"
    async with websockets.connect(base) as ws:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "403 no pass")
    async with AgentClient(api_server, "door-agent", agent_name, query={"pass": "yes"}) as client:
        assert client.state is None  # connected: identity, no state written yet
