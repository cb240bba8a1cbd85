"""The worker's Temporal plugin: one object that owns the sandbox pass-through list, the
bridge activities and the app's workflows and activities, so `worker.py` and tests just
pass `plugins=[AgentsPlugin(runtime)]` (the client carries the data converter:
`agents.connect_temporal`).

It lives with the bridge, not in `agents`: the agent layer does not know the bridge that
runs workflow effects on it (imports run workflows <- agents <- activities)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.plugin import SimplePlugin
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxRestrictions

from agents import PASSTHROUGH, AgentRuntime
from agents.chat import ChatAgent
from workflows import FRAMEWORK_WORKFLOWS, ChatTurnWorkflow

from ._bridge import BridgeActivities
from ._calls import CallActivities
from ._carried import CarriedWritesInterceptor
from ._log_context import LogContextInterceptor
from ._sandbox import AgentsSandboxRunner
from ._unregistered import UnregisteredActivities


def _sandbox(existing: WorkflowRunner | None) -> WorkflowRunner:
    return AgentsSandboxRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH))


class AgentsPlugin(SimplePlugin):
    """Registers the app's workflows and activities plus the framework's own (the bridge,
    scheduled and queued method calls), with the framework's sandbox pass-throughs and
    log-context interceptor."""

    def __init__(self, runtime: AgentRuntime) -> None:
        registry = runtime.registry
        bridge = BridgeActivities(runtime)
        self._outbox = bridge.outbox
        activities: list[Any] = [
            *bridge.all(),
            *CallActivities(runtime).all(),
            UnregisteredActivities(runtime.temporal).unregistered,
            *registry.activity_functions,
        ]
        for group in registry.activity_groups:
            activities += group(redis=runtime.redis, settings=runtime.settings).all()
        workflows: list[Any] = [*registry.workflows.values(), *FRAMEWORK_WORKFLOWS]
        if any(issubclass(agent, ChatAgent) for agent in registry.agents.values()):
            from ._chat import ChatActivities  # loads the model library: only for apps that chat

            activities += ChatActivities(runtime).all()
            workflows.append(ChatTurnWorkflow)
        super().__init__(
            "temporal-agents",
            activities=activities,
            workflows=workflows,
            workflow_runner=_sandbox,
            interceptors=[LogContextInterceptor(), CarriedWritesInterceptor(bridge.apply_write)],
        )

    async def run_worker(self, worker: Worker, next: Callable[[Worker], Awaitable[None]]) -> None:
        # Progress reports from this worker's workflows go out through its outbox.
        async with self._outbox.opened(worker.task_queue):
            await super().run_worker(worker, next)
