"""The API process: health, readiness against the real servers, agent state over HTTP."""

from __future__ import annotations

import httpx


async def test_health_and_readiness(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "redis": "ok", "temporal": "ok"}


async def test_state_of_an_agent_and_unknown_agent_types(http: httpx.AsyncClient, agent_name: str) -> None:
    fresh = await http.get(f"/agents/recorder-agent/{agent_name}/state")
    assert fresh.json() == {"state": {"counter": 0}, "version": 0}
    unknown = await http.get(f"/agents/no-such-agent/{agent_name}/state")
    assert unknown.status_code == 404
    assert "unknown agent type 'no-such-agent'" in unknown.json()["message"]
