"""State writes that ride on a run's next activity (see `AgentWorkflowStep._write`).

Workflow side: when a run starts an activity on its own task queue, the writes it made
since its last command go into the activity's header, so they are recorded in the
run's history with the activity and cost no command of their own. Worker side: before
the activity's own code runs, each carried write is applied once (keyed by the write's
id, as the local activity that would otherwise apply it is), retried while Redis is
away or the agent's turn is held: a write's trouble must not count as the step failing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from temporalio import activity, workflow
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from agents import REDIS_ERRORS, AgentBusyError
from workflows import return_carried_writes, take_carried_writes
from workflows.contracts import CARRIED_WRITES_HEADER, CarriedWrite, StateWriteInput

log = structlog.get_logger("agents.bridge")

_RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0)
"""Seconds between attempts at a carried write (the last repeats until the activity's
own timeout or cancellation ends the attempt)."""

_RETURNED = "agents.carried-writes-returned"

ApplyWrite = Callable[[StateWriteInput, str], Awaitable[Any]]
"""Applies one write under an effect id (`BridgeActivities.apply_write`)."""


class _Outbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> Any:
        carried: list[CarriedWrite] = []
        instance = workflow.instance()
        if input.task_queue in (None, workflow.info().task_queue):
            carried = take_carried_writes(instance)
            if carried:  # only this worker's activities know to apply them
                payload = workflow.payload_converter().to_payload(carried)
                input.headers = {**input.headers, CARRIED_WRITES_HEADER: payload}
                # Temporal UI shows the summary: say what the activity applies first.
                input.summary = f"{input.summary or input.activity} (+ {', '.join(c.id for c in carried)})"
        handle = super().start_activity(input)
        if carried:
            # An activity cancelled before it started never applied them: they must not
            # be lost (nor counted done) with it. Back in line unless it completed.
            def back_unless_completed(done: Any) -> None:
                # Patched: a history from before would not replay the flush this adds.
                if (done.cancelled() or done.exception() is not None) and workflow.patched(_RETURNED):
                    return_carried_writes(instance, carried)

            handle.add_done_callback(back_unless_completed)
        return handle


class _WorkflowInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))


class _ActivityInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, apply: ApplyWrite) -> None:
        super().__init__(next)
        self._apply = apply

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        header = input.headers.get(CARRIED_WRITES_HEADER)
        if header is not None:
            info = activity.info()
            for carried in activity.payload_converter().from_payload(header, list[CarriedWrite]):
                await self._apply_once(carried, f"{info.workflow_id}:{info.workflow_run_id}:{carried.id}")
        return await super().execute_activity(input)

    async def _apply_once(self, carried: CarriedWrite, effect_id: str) -> None:
        attempt = 0
        while True:
            try:  # a refusal (an agent whose hooks the workflow did not know of) fails the step
                await self._apply(carried.write, effect_id)
                return
            except (*REDIS_ERRORS, AgentBusyError) as err:
                delay = _RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)]
                log.warning("carried state write not applied yet; retrying", write=carried.id, error=repr(err))
                attempt += 1
                await asyncio.sleep(delay)


class CarriedWritesInterceptor(Interceptor):
    def __init__(self, apply: ApplyWrite) -> None:
        self._apply = apply

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityInbound(next, self._apply)

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _WorkflowInbound
