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


async def test_metrics_count_requests_starts_and_controls_and_request_ids_echo(
    http: httpx.AsyncClient, agent_name: str
) -> None:
    response = await http.post(
        f"/agents/recorder-agent/{agent_name}/workflows",
        json={"workflow": "event_flow", "params": {}},
        headers={"X-Request-ID": "req-123"},
    )
    assert response.headers["x-request-id"] == "req-123"
    assert len((await http.get("/healthz")).headers["x-request-id"]) == 32  # one is made up when absent
    run_id = response.json()["workflow_id"]
    await http.post(f"/agents/recorder-agent/{agent_name}/workflows/{run_id}/terminate")
    text = (await http.get("/metrics")).text
    assert 'agents_workflow_starts_total{workflow="event_flow"} 1.0' in text
    assert 'agents_workflow_controls_total{action="terminate"} 1.0' in text
    assert 'agents_http_requests_total{method="POST",route="/agents/{agent}/{name}/workflows",status="201"} 1.0' in text
    assert "agents_websocket_connections 0.0" in text
