"""The Temporal plugin: one object that owns the data converter, the sandbox
pass-through list and the bridge activities, so `worker.py` and tests just pass
`plugins=[AgentsPlugin(runtime)]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.plugin import SimplePlugin
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from ._log_context import LogContextInterceptor
from .settings import Settings

if TYPE_CHECKING:
    from ._runtime import AgentRuntime

# Pydantic models and dataclasses both round-trip through Temporal payloads.
DATA_CONVERTER = pydantic_data_converter

# Modules workflow code may import without the sandbox re-importing them per run.
PASSTHROUGH = {
    "pydantic": "params models are validated in workflow code; re-importing is slow and it has no side effects",
    "pydantic_core": "pydantic's compiled core",
    "annotated_types": "used by pydantic field constraints",
    "agents": "the agent layer, imported by workflow modules only for typing (AgentWorkflow[MyAgent, ...])",
    "activities": "activity definitions, imported by workflow modules only for their names and signatures",
    "redis": "imported by `agents` and `activities`; never called from workflow code",
    "structlog": "imported by `agents`; never called from workflow code",
}


def _sandbox(existing: WorkflowRunner | None) -> WorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


class AgentsPlugin(SimplePlugin):
    """Registers the app's workflows and activities plus the bridge activities."""

    def __init__(self, runtime: AgentRuntime) -> None:
        # Imported here: `activities` builds on `agents`, so `agents` cannot import it at load.
        from activities import BridgeActivities

        registry = runtime.registry
        activities: list[Any] = [*BridgeActivities(runtime).all(), *registry.activity_functions]
        for group in registry.activity_groups:
            activities += group(redis=runtime.redis, settings=runtime.settings).all()
        super().__init__(
            "temporal-agents",
            activities=activities,
            workflows=list(registry.workflows.values()),
            workflow_runner=_sandbox,
            interceptors=[LogContextInterceptor()],
        )


async def connect_temporal(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A Temporal client with the framework's data converter (and an SDK runtime, for
    example one that exports metrics)."""
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
        runtime=runtime,
    )


def metrics_runtime(port: int) -> Runtime:
    """An SDK runtime serving Temporal's worker metrics for Prometheus on `port`."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"0.0.0.0:{port}")))
