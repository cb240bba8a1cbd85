"""Bring tracking in line with Temporal for runs that ended without reporting:
terminated from Temporal UI or CLI, timed out, or failed before the report step."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from workflows import error_info

from ._messages import workflow_status
from ._tracking import WorkflowInfo

if TYPE_CHECKING:
    from ._agent import Agent
    from ._runtime import AgentRuntime

log = structlog.get_logger("agents.reconcile")

# A run that Temporal says has ended may leave any unfinished status, `paused` included.
_UNFINISHED = "queued,running,waiting,paused"
_DESCRIBE_TIMEOUT = timedelta(seconds=2)
_TIMED_OUT = {"name": "TimeoutError", "message": "the run exceeded its Temporal execution timeout"}


async def reconcile_with_temporal(rt: AgentRuntime, agent: Agent[Any], info: WorkflowInfo) -> WorkflowInfo:
    handle = rt.temporal.get_workflow_handle(info.temporal_workflow_id)
    try:
        description = await handle.describe(rpc_timeout=_DESCRIBE_TIMEOUT)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return info  # not started yet, or purged by namespace retention
        if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            # Temporal is down: what tracking says is still the best answer for a read.
            log.warning("temporal unreachable; serving tracking as it is", tracking_id=info.workflow_id)
            return info
        raise
    status = description.status
    if status in (None, WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW):
        return info
    chain = description.raw_description.workflow_execution_info.first_run_id
    if info.run_id and chain and chain != info.run_id:
        return info  # a newer execution (restart) owns the row
    fields: dict[str, Any]
    if status == WorkflowExecutionStatus.COMPLETED:
        target, fields = "complete", {"result": await handle.result()}
    elif status == WorkflowExecutionStatus.FAILED:
        try:
            await handle.result()
            fields = {"error": {"name": "Error", "message": "the run failed"}}
        except WorkflowFailureError as failure:
            fields = {"error": error_info(failure.cause)}
        target = "errored"
    elif status == WorkflowExecutionStatus.TIMED_OUT:
        target, fields = "errored", {"error": _TIMED_OUT}
    else:  # TERMINATED, CANCELED
        target, fields = "terminated", {}
    moved = await rt.tracker.transition(
        agent.keys,
        info.workflow_id,
        target,
        only_from=_UNFINISHED,
        announce=workflow_status(info.workflow_id, info.workflow_name, target, **fields),
        **fields,
    )
    if moved and moved[1]:
        log.info("tracking reconciled with temporal", tracking_id=info.workflow_id, status=target)
    return await rt.tracker.get(agent.keys, info.workflow_id) or info
