"""OpenTelemetry traces from a real API process and a real worker process, exported over
OTLP/HTTP to a receiver the test runs (it decodes the protobuf requests), and nothing at
all when no OTLP endpoint is set."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agents import AgentRuntime, Settings
from agents.client import AgentClient
from devstack import free_port
from tests.helpers import ROOT, eventually, start_api_process, start_entry_point, wait_for_status


def _value(any_value: Any) -> Any:
    return getattr(any_value, any_value.WhichOneof("value")) if any_value.WhichOneof("value") else None


class Receiver:
    """An OTLP/HTTP trace receiver: every span it was sent, flattened."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []

    async def traces(self, request: Request) -> Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.body())
        for resource_spans in export.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        {
                            "service": resource.get("service.name"),
                            "name": span.name,
                            "trace": span.trace_id.hex(),
                            "id": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(),
                            "attributes": {a.key: _value(a.value) for a in span.attributes},
                            "links": [link.trace_id.hex() for link in span.links],
                        }
                    )
        return Response(b"", media_type="application/x-protobuf")


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    found = Receiver()
    port = free_port()
    app = Starlette(routes=[Route("/v1/traces", found.traces, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield found, f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


_APPROVE = "POST /agents/{agent}/{name}/workflows/{workflow_id}/approve"


async def test_one_trace_runs_from_the_http_request_through_the_worker_to_the_websocket_relay(
    settings: Settings, runtime: AgentRuntime, agent_name: str, receiver: tuple[Receiver, str], tmp_path: Path
) -> None:
    found, endpoint = receiver
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    worker = start_entry_point("worker.py", settings, tmp_path / "worker.log", **otel)
    port = free_port()
    api = await start_api_process(settings, port, tmp_path / "api.log", **otel)
    base = f"http://127.0.0.1:{port}"
    agent = runtime.agent("recorder-agent", agent_name)
    url = f"/agents/recorder-agent/{agent_name}/workflows"
    try:
        async with (
            httpx.AsyncClient(base_url=base, timeout=30) as http,
            AgentClient(base, "recorder-agent", agent_name) as client,
        ):
            await client.wait_ready()
            started = await http.post(url, json={"workflow": "approval_note_flow", "id": "traced"})
            assert started.status_code == 201, started.text
            await wait_for_status(agent, "traced", "waiting")
            assert (await http.post(f"{url}/traced/approve", json={"reason": "ok"})).status_code == 202
            await wait_for_status(agent, "traced", "complete")

            def the_start() -> list[dict[str, Any]]:
                roots = [s for s in found.spans if s["name"] == "POST /agents/{agent}/{name}/workflows"]
                return [s for s in found.spans if roots and s["trace"] == roots[0]["trace"]]

            async def spans_of_the_start() -> list[dict[str, Any]]:
                return the_start()

            def complete(spans: list[dict[str, Any]]) -> bool:
                # Every span asserted below has been exported (each process sends its own,
                # in batches): the start's trace, the approval's and the relay.
                names = {s["name"] for s in spans}
                everywhere = {s["name"] for s in found.spans}
                return (
                    any(n.startswith("RunWorkflow:") for n in names)
                    and {"agent on_workflow_callback", "HandleSignal:agents.event"} <= names
                    and {_APPROVE, "SignalWorkflow:agents.event", "relay to WebSocket clients"} <= everywhere
                )

            start = await eventually(spans_of_the_start, complete, timeout=30, what="the start's trace")
    finally:
        for proc in (api, worker):
            proc.terminate()
            proc.wait(30)
    by_id = {s["id"]: s for s in start}
    services = {s["service"] for s in start}
    assert services == {"temporal-agents-api", "temporal-agents-worker"}, services
    # Parent before child: the HTTP request -> the client's StartWorkflow -> the workflow.
    run = next(s for s in start if s["name"] == "RunWorkflow:approval_note_flow")
    starter = by_id[run["parent"]]
    assert starter["name"] == "StartWorkflow:approval_note_flow" and starter["service"] == "temporal-agents-api"
    assert by_id[starter["parent"]]["name"] == "POST /agents/{agent}/{name}/workflows"
    hook = next(s for s in start if s["name"] == "agent on_workflow_callback")
    assert hook["attributes"]["agent.type"] == "recorder-agent" and hook["attributes"]["agent.name"] == agent_name
    assert hook["service"] == "temporal-agents-worker"
    # The run's end reached the WebSocket client through an API process, linked to this trace.
    relays = [s for s in found.spans if s["name"] == "relay to WebSocket clients" and start[0]["trace"] in s["links"]]
    assert relays and relays[0]["service"] == "temporal-agents-api"
    # The approval is a trace of its own (the API's request and its signal); the worker's
    # handling of the signal is in the run's trace, linked to it (Temporal's interceptor).
    approve = next(s for s in found.spans if s["name"] == _APPROVE)
    signalled = [
        s for s in found.spans if s["trace"] == approve["trace"] and s["name"] == "SignalWorkflow:agents.event"
    ]
    assert signalled and signalled[0]["service"] == "temporal-agents-api"
    handled = [s for s in start if s["name"] == "HandleSignal:agents.event" and approve["trace"] in s["links"]]
    assert handled and handled[0]["service"] == "temporal-agents-worker"
    assert (tmp_path / "worker.log").read_text().count('"trace_id"') > 0  # log lines inside spans carry it


def test_without_an_otlp_endpoint_nothing_is_set_up() -> None:
    code = (
        "import sys, threading, api, worker\n"
        "from opentelemetry import trace\n"
        "from temporal_agents.tracing import configure_tracing\n"
        "assert configure_tracing('x') == []\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry.exporter')), threading.active_count(),\n"
        "      type(trace.get_tracer_provider()).__name__)\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    # No exporter loaded, no thread of one, no tracer provider: every span a no-op.
    assert done.stdout.split() == ["[]", "1", "ProxyTracerProvider"], done.stdout
