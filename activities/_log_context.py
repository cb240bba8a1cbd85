"""Log context for activities: every activity's log lines carry the agent, workflow
id, run id and step name.

The step name exists only in workflow code (it is the activity's summary), so a
workflow outbound interceptor puts it, and the originating agent, in the activity's
headers; an activity inbound interceptor binds them into structlog's contextvars.
"""

from __future__ import annotations

from typing import Any

import structlog
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.converter import default as default_converter
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    StartActivityInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from workflows import active_run

STEP_HEADER = "agents-step"
AGENT_HEADER = "agents-agent"


def _with_context(headers: Any, summary: str | None) -> dict[str, Payload]:
    converter = workflow.payload_converter()
    out = dict(headers)
    if summary:
        out[STEP_HEADER] = converter.to_payload(summary)
    active = active_run(workflow.instance())
    run = active.ref if active is not None else None
    if run is not None:
        out[AGENT_HEADER] = converter.to_payload(f"{run.agent.agent_type}/{run.agent.name}")
    return out


class _Outbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> Any:
        input.headers = _with_context(input.headers, input.summary)
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> Any:
        input.headers = _with_context(input.headers, input.summary)
        return super().start_local_activity(input)


class _WorkflowInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))


class _ActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        converter = default_converter().payload_converter
        context: dict[str, Any] = {
            "workflow_id": info.workflow_id,
            "run_id": info.workflow_run_id,
            "activity": info.activity_type,
            "attempt": info.attempt,
        }
        for key, header in ((STEP_HEADER, "step"), (AGENT_HEADER, "agent")):
            if key in input.headers:
                context[header] = converter.from_payload(input.headers[key], str)
        with structlog.contextvars.bound_contextvars(**context):
            return await super().execute_activity(input)


class LogContextInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityInbound(next)

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _WorkflowInbound
