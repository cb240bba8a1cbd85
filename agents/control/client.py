"""What a Temporal client and worker of the agent layer share: the data converter, the
sandbox pass-through list, and how to connect. The worker's plugin (`activities.AgentsPlugin`)
builds on these."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import Client, Interceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from agents.control.converter import data_converter
from agents.control.deadlines import RpcDeadlines
from agents.core.settings import Settings

# Modules workflow code may import without the sandbox re-importing them per run.
PASSTHROUGH = {
    "pydantic": "params models are validated in workflow code; re-importing is slow and it has no side effects",
    "pydantic_core": "pydantic's compiled core",
    "annotated_types": "used by pydantic field constraints",
    "agents": "the agent layer, imported by workflow modules only for typing (AgentWorkflow[MyAgent, ...])",
    "activities": "activity definitions, imported by workflow modules only for their names and signatures",
    "redis": "imported by `agents` and `activities`; never called from workflow code",
    "structlog": "imported by `agents`; never called from workflow code",
    "workflows.inline": "inline step bodies are parked here by workflow code and run by the bridge's "
    "local activity: both must see the one registry",
    "workflows.outbox": "progress reports are posted here by workflow code and sent by the worker: "
    "both must see the one registry",
    # The framework's own workflow code: deterministic, checked by its tests, and holding
    # no module state. Re-importing it for every run cost more than a small run itself:
    # one-shot calls fell behind at 50 a second, against a p99 of 0.36 s when passed
    # through (bench/scheduled_calls.py). App workflow modules stay sandboxed.
    **{
        f"workflows.{module}": "the framework's workflow code, imported once per worker, not per run"
        for module in (
            "_base",
            "_calls",
            "_chat",
            "_durations",
            "_errors",
            "_retries",
            "_run",
            "temporal_internals",
            "_step",
            "_unregistered",
            "versions",
            "contracts",
        )
    },
}


# Pydantic models and dataclasses both round-trip through Temporal payloads; the adapters
# of the passed-through modules' types are built once per process, not once per run.
DATA_CONVERTER = data_converter(shared_modules=PASSTHROUGH)


async def connect_temporal(
    settings: Settings, *, runtime: Runtime | None = None, interceptors: Sequence[Interceptor] = ()
) -> Client:
    """A Temporal client with the framework's data converter, a deadline on every call
    (`RpcDeadlines`), an SDK runtime if given (for example one that exports metrics), and
    `interceptors` of the caller's (tracing: a worker made from the client gets them too)."""
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
        interceptors=[RpcDeadlines(), *interceptors],
        runtime=runtime,
    )


def metrics_runtime(port: int) -> Runtime:
    """An SDK runtime serving Temporal's worker metrics for Prometheus on `port`."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"0.0.0.0:{port}")))
