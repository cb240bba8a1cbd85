"""Bring tracking in line with Temporal for runs that ended without reporting:
terminated from Temporal UI or CLI, timed out, or failed before the report step."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from agents.control.deadlines import temporal_unreachable
from agents.control.redeploy import continue_on_new_code, is_replay_mismatch
from agents.core.errors import AgentBusyError
from agents.core.messages import workflow_status
from agents.store.tracking import Transition, WorkflowInfo
from workflows import error_info

if TYPE_CHECKING:
    from agents.control.ports import ControlRuntime
    from agents.core.ids import AgentId

log = structlog.get_logger("agents.reconcile")

# A run that Temporal says has ended may leave any unfinished status, `paused` included.
_UNFINISHED = "queued,running,waiting,paused"
_DESCRIBE_TIMEOUT = timedelta(seconds=2)
_RESULT_TIMEOUT = timedelta(seconds=5)
_GAVE_UP = "the run's history does not replay on its workflow's code, and it already continued on new code too often: "
PROBLEM_ATTEMPTS = 3
"""Failed tries of one workflow task after which a running run shows a `problem`."""
_TIMED_OUT = {"name": "TimeoutError", "message": "the run exceeded its Temporal execution timeout"}


async def reconcile_with_temporal(rt: ControlRuntime, agent: AgentId, info: WorkflowInfo) -> WorkflowInfo:
    handle = rt.temporal.get_workflow_handle(info.temporal_workflow_id)
    try:
        description = await handle.describe(rpc_timeout=_DESCRIBE_TIMEOUT)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return info  # not started yet, or purged by namespace retention
        if temporal_unreachable(err):
            # Temporal is down: what tracking says is still the best answer for a read.
            log.warning("temporal unreachable; serving tracking as it is", tracking_id=info.workflow_id)
            return info
        raise
    status = description.status
    chain = description.raw_description.workflow_execution_info.first_run_id
    if not info.run_id and chain and chain in await rt.tracker.retired(agent.keys, info.workflow_id):
        return await _after_dead_restart(rt, agent, info, chain)
    # The result of the execution just described, not of whatever runs under the id by
    # the time it is read (a restart's), and within a deadline.
    handle = rt.temporal.get_workflow_handle(info.temporal_workflow_id, run_id=description.run_id)
    if status == WorkflowExecutionStatus.RUNNING:
        return await _note_problem(rt, agent, info, handle, description)
    if status in (None, WorkflowExecutionStatus.CONTINUED_AS_NEW):
        return info
    if info.run_id and chain and chain != info.run_id:
        return info  # a newer execution (restart) owns the row
    fields: dict[str, Any]
    if status == WorkflowExecutionStatus.COMPLETED:
        target, fields = "complete", {"result": await handle.result(rpc_timeout=_RESULT_TIMEOUT)}
    elif status == WorkflowExecutionStatus.FAILED:
        try:
            await handle.result(rpc_timeout=_RESULT_TIMEOUT)
            fields = {"error": {"name": "Error", "message": "the run failed"}}
        except WorkflowFailureError as failure:
            fields = {"error": error_info(failure.cause)}
            if is_replay_mismatch(failure.cause) and not _strict(rt, info.workflow_name):
                failed_run = description.run_id or ""
                if await continue_on_new_code(rt, agent, info, failed_run, fields["error"]["message"]):
                    return await rt.tracker.get(agent.keys, info.workflow_id) or info
                fields = {"error": {"name": "NondeterminismError", "message": _GAVE_UP + fields["error"]["message"]}}
        target = "errored"
    elif status == WorkflowExecutionStatus.TIMED_OUT:
        target, fields = "errored", {"error": _TIMED_OUT}
    else:  # TERMINATED, CANCELED
        target, fields = "terminated", {}
    change = Transition(
        status=target,
        only_from=_UNFINISHED,
        run_id=chain or None,  # not a chain a restart retired meanwhile
        reporter_run=description.run_id,
        announce=workflow_status(info.workflow_id, info.workflow_name, target, **fields),
        fields=fields,
    )
    moved = await rt.tracker.transition(agent.keys, info.workflow_id, change)
    if moved and moved[1]:
        log.info("tracking reconciled with temporal", tracking_id=info.workflow_id, status=target)
    return await rt.tracker.get(agent.keys, info.workflow_id) or info


async def _after_dead_restart(rt: ControlRuntime, agent: AgentId, info: WorkflowInfo, chain: str) -> WorkflowInfo:
    """The row follows no chain and Temporal's run is one a restart retired: that restart
    retired it, then never started its own (its process died; a restart holds the run's
    control lock throughout, so a free lock means none is under way). The old chain goes
    on, so the row follows it again (its reports were refused meanwhile)."""
    try:
        async with rt.tracker.control_lock(agent.keys, info.workflow_id, wait=0):
            if await rt.tracker.get(agent.keys, info.workflow_id) == info:  # unchanged since read
                await rt.tracker.unretire(agent.keys, info.workflow_id, chain)
                log.warning(
                    "a restart that never started its run: tracking follows the run again", tracking_id=info.workflow_id
                )
    except AgentBusyError:
        pass  # a restart is under way: it will say which chain the row follows
    return await rt.tracker.get(agent.keys, info.workflow_id) or info


def _strict(rt: ControlRuntime, workflow_name: str) -> bool:
    """Whether the workflow opted out of continuing on new code (`strict_replay`)."""
    cls = rt.registry.workflows.get(workflow_name)
    return bool(cls is not None and cls.strict_replay)


async def _note_problem(
    rt: ControlRuntime, agent: AgentId, info: WorkflowInfo, handle: Any, description: Any
) -> WorkflowInfo:
    """Show on the row (and tell its clients) when the run's workflow task keeps failing:
    Temporal retries it for ever, and nothing else would tell the user."""
    raw = description.raw_description
    attempts = raw.pending_workflow_task.attempt if raw.HasField("pending_workflow_task") else 0
    if attempts < PROBLEM_ATTEMPTS:
        if info.problem is None:
            return info
        problem = None
    elif info.problem is not None:
        return info  # recorded already
    else:
        since = raw.pending_workflow_task.original_scheduled_time.ToMilliseconds()
        problem = {
            "kind": "workflow_task_failing",
            "attempts": attempts,
            "since": since,
            "message": await _last_task_failure(handle),
        }
        log.warning("run's workflow task keeps failing", tracking_id=info.workflow_id, **problem)
    await rt.tracker.set_problem(agent.keys, info.workflow_id, problem)
    await rt.publish(agent.keys, workflow_status(info.workflow_id, info.workflow_name, info.status, problem=problem))
    return await rt.tracker.get(agent.keys, info.workflow_id) or info


async def _last_task_failure(handle: Any) -> str:
    message = "its workflow task fails (see the run in Temporal UI)"
    async for event in handle.fetch_history_events(rpc_timeout=_RESULT_TIMEOUT):
        if event.HasField("workflow_task_failed_event_attributes"):
            message = event.workflow_task_failed_event_attributes.failure.message or message
    return message
