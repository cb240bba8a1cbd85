"""Authentication and per-agent authorization, against the real API on a real socket:
401 without a valid token, 403 outside its scopes (and nothing changed), WebSockets
closed with 1008, read-only tokens that can watch but not steer."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import websockets
from pydantic import SecretStr

import api
from agents import AgentRuntime, Settings
from agents.client import AgentClient, AgentClientError
from devstack import free_port
from tests.conftest import serve_api
from tests.helpers import eventually, polled

SECRET = "test-secret-of-thirty-two-bytes-at-least"
ADMIN = "admin-key"
ALICE_ONLY = "alice-key"
READER = "reader-key"


def token(sub: str, scope: str, *, secret: str = SECRET, exp: float | None = None, **claims: Any) -> str:
    payload = {"sub": sub, "scope": scope, "exp": int(exp if exp is not None else time.time() + 600), **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def auth_settings(settings: Settings, agent_name: str) -> Settings:
    return settings.model_copy(
        update={
            "api_keys": {
                ADMIN: "control:*/*",
                ALICE_ONLY: f"control:recorder-agent/{agent_name}",
                READER: "read:recorder-agent/*",
            },
            "jwt_secret": SecretStr(SECRET),
        }
    )


@pytest.fixture
async def server(auth_settings: Settings) -> AsyncIterator[str]:
    srv, task = await serve_api(auth_settings, free_port())
    yield f"http://127.0.0.1:{srv.config.port}"
    srv.should_exit = True
    await task


@pytest.fixture
async def web(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server) as client:
        yield client


async def test_no_token_is_401_everywhere_but_health_and_the_page(web: httpx.AsyncClient, agent_name: str) -> None:
    for method, path in [
        ("GET", f"/agents/recorder-agent/{agent_name}/workflows"),
        ("POST", f"/agents/recorder-agent/{agent_name}/workflows"),
        ("GET", f"/agents/recorder-agent/{agent_name}/state"),
        ("GET", "/workflows/some-run"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
    ]:
        response = await web.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"] == "unauthenticated" and "Bearer" in response.json()["message"]
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert (await web.get("/healthz")).status_code == 200
    assert "<html" in (await web.get("/")).text.lower()
    assert (await web.get("/app.js")).status_code == 200
    assert (await web.get("/readyz", headers=bearer(READER))).status_code == 200


async def test_unknown_and_invalid_tokens_are_401(web: httpx.AsyncClient, agent_name: str) -> None:
    path = f"/agents/recorder-agent/{agent_name}/state"
    cases = {
        "not-a-key": "not a known API key",
        token("bob", "control:*/*", exp=time.time() - 3600): "expired",
        token("bob", "control:*/*", secret="another-secret-of-32-bytes-or-more"): "Signature verification failed",
        jwt.encode({"sub": "bob", "scope": "control:*/*"}, SECRET, algorithm="HS256"): "exp",
        jwt.encode({"sub": "bob", "scope": "control:*/*", "exp": 2**40}, None, algorithm="none"): "not valid",
        token("bob", "admin:everything"): "scope",
    }
    for value, said in cases.items():
        response = await web.get(path, headers=bearer(value))
        assert response.status_code == 401 and said in response.json()["message"], (value, response.json())
    basic = await web.get(path, headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert basic.status_code == 401


async def test_a_token_scoped_to_one_agent_cannot_see_or_steer_another(
    web: httpx.AsyncClient, agent_name: str, runtime: AgentRuntime
) -> None:
    mine, other = f"/agents/recorder-agent/{agent_name}", f"/agents/recorder-agent/{agent_name}-other"
    started = await web.post(
        f"{mine}/workflows", headers=bearer(ALICE_ONLY), json={"workflow": "event_flow", "id": "r1"}
    )
    assert started.status_code == 201, started.text
    # The admin starts a run on the other agent: alice's key can neither see nor steer it.
    assert (
        await web.post(f"{other}/workflows", headers=bearer(ADMIN), json={"workflow": "event_flow", "id": "r1"})
    ).status_code == 201
    for method, path, body in [
        ("GET", f"{other}/workflows", None),
        ("GET", f"{other}/workflows/r1", None),
        ("POST", f"{other}/workflows/r1/terminate", {}),
        ("DELETE", f"{other}/workflows/r1", None),
        ("PUT", f"{other}/state", {"counter": 99}),
        ("POST", f"{other}/rpc/ping", {"args": []}),
        ("GET", f"/agents/guarded-agent/{agent_name}/state", None),
        ("GET", "/workflows/r1", None),
    ]:
        response = await web.request(method, path, json=body, headers=bearer(ALICE_ONLY))
        assert response.status_code == 403, (method, path, response.text)
        assert (
            response.json()["error"] == "forbidden"
            and f"control:recorder-agent/{agent_name}" in response.json()["message"]
        )
    # Nothing changed: the other agent's run is still there and running, its state untouched.
    other_run = (await web.get(f"{other}/workflows/r1", headers=bearer(ADMIN))).json()
    assert other_run["status"] in ("queued", "running")
    assert (await runtime.load_agent("recorder-agent", f"{agent_name}-other")).state == {"counter": 0}


async def test_a_read_token_watches_but_cannot_steer(
    web: httpx.AsyncClient, agent_name: str, runtime: AgentRuntime
) -> None:
    base = f"/agents/recorder-agent/{agent_name}"
    assert (await web.put(f"{base}/state", headers=bearer(ADMIN), json={"counter": 1})).status_code == 200
    assert (await web.get(f"{base}/state", headers=bearer(READER))).json()["state"] == {"counter": 1}
    assert (await web.get(f"{base}/workflows", headers=bearer(READER))).status_code == 200
    for method, path, body in [
        ("PUT", f"{base}/state", {"counter": 5}),
        ("PATCH", f"{base}/state", {"x": 1}),
        ("POST", f"{base}/workflows", {"workflow": "event_flow"}),
        ("DELETE", f"{base}/workflows", None),
    ]:
        response = await web.request(method, path, json=body, headers=bearer(READER))
        assert response.status_code == 403 and "may not control" in response.json()["message"], (method, path)
    assert (await runtime.load_agent("recorder-agent", agent_name)).state == {"counter": 1}
    assert (await web.get(f"{base}/workflows", headers=bearer(ADMIN))).json()["total"] == 0


async def test_jwt_scopes_and_the_agents_own_check(web: httpx.AsyncClient, agent_name: str) -> None:
    carol = token("carol", f"read:recorder-agent/{agent_name} control:guarded-agent/*")
    assert (await web.get(f"/agents/recorder-agent/{agent_name}/state", headers=bearer(carol))).status_code == 200
    assert (
        await web.put(f"/agents/recorder-agent/{agent_name}/state", headers=bearer(carol), json={"counter": 2})
    ).status_code == 403
    assert (
        await web.put(f"/agents/guarded-agent/{agent_name}/state", headers=bearer(carol), json={"level": 2})
    ).status_code == 200
    # authorize_request: the agent refuses a caller its scopes would allow.
    mallory = token("mallory", "control:*/*")
    refused = await web.get(f"/agents/guarded-agent/{agent_name}/state", headers=bearer(mallory))
    assert refused.status_code == 403 and refused.json()["message"] == "guarded-agent does not serve mallory"


async def test_websockets_need_a_token_and_close_with_1008(server: str, agent_name: str) -> None:
    base = f"{server.replace('http', 'ws')}/agents/recorder-agent/{agent_name}"
    for url, said in [
        (base, "bearer token"),
        (f"{base}?token=nope", "not a known API key"),
        (f"{base}-other?token={ALICE_ONLY}", "may not read"),
    ]:
        async with websockets.connect(url) as ws:
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert said in closed.value.rcvd.reason
    async with websockets.connect(f"{base}?token={ALICE_ONLY}") as ws:
        assert json.loads(await ws.recv())["type"] == "cf_agent_identity"
    mallory = token("mallory", "control:*/*")
    async with websockets.connect(f"{server.replace('http', 'ws')}/agents/guarded-agent/x?token={mallory}") as ws:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_read_only_socket_gets_updates_but_cannot_set_state_or_call(
    server: str, agent_name: str, runtime: AgentRuntime
) -> None:
    async with (
        AgentClient(server, "recorder-agent", agent_name, token=READER) as reader,
        AgentClient(server, "recorder-agent", agent_name, token=ALICE_ONLY) as writer,
    ):
        await writer.set_state({"counter": 4})
        await eventually(polled(lambda: reader.state), lambda s: s == {"counter": 4}, what="reader sees the state")
        with pytest.raises(AgentClientError, match="may only read"):
            await reader.call("ping")
        frames: list[Any] = []
        reader.on_message(frames.append)
        await reader.set_state({"counter": 666})
        refusal = await eventually(polled(lambda: frames), bool, what="a state error frame")
        assert refusal[0]["type"] == "cf_agent_state_error" and "may only read" in refusal[0]["error"]
        assert await writer.call("ping") == "pong"
        assert writer.state == {"counter": 4}
    assert (await runtime.load_agent("recorder-agent", agent_name)).state == {"counter": 4}


async def test_python_client_reports_a_refusal_instead_of_retrying(server: str, agent_name: str) -> None:
    client = AgentClient(server, "recorder-agent", agent_name, token="wrong")
    with pytest.raises(AgentClientError, match="1008"):
        await client.connect(timeout=5)
    await client.close()
    assert client.connects <= 1


def test_open_api_only_on_loopback(settings: Settings) -> None:
    with pytest.raises(RuntimeError, match="set API_KEYS or JWT_SECRET"):
        api.app(settings.model_copy(update={"api_host": "0.0.0.0"}))
    api.app(settings.model_copy(update={"api_host": "0.0.0.0", "api_keys": {ADMIN: "control:*/*"}}))
    api.app(settings)  # loopback, no auth: allowed (and logged at start)


async def test_cloudflare_client_authenticates_with_a_query_token(
    server: str, node_client: Path, agent_name: str, runtime: AgentRuntime
) -> None:
    await runtime.agent("recorder-agent", agent_name).set_state({"counter": 5})

    async def run(token_value: str) -> dict[str, Any]:
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(node_client.parent / "agent_client_auth.mjs"),
            server.removeprefix("http://"),
            agent_name,
            token_value,
            cwd=node_client.parent,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, _ = await asyncio.wait_for(proc.communicate(), 30)
        return json.loads(stdout.decode().strip().splitlines()[-1])

    good = await run(READER)
    assert good["errors"] == [] and good["identified"] is True and good["state"] == {"counter": 5}
    bad = await run("stolen")
    assert bad["errors"] == [] and bad["closeCode"] == 1008 and "not a known API key" in bad["reason"]
