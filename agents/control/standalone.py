"""Runs started outside any agent (Temporal CLI or UI, another service, a plain
schedule): events, approvals and status by Temporal workflow id. A run an agent owns
is refused here, so its agent stays the only way to steer it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio.client import WorkflowExecutionDescription, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from agents.control.runs import AGENT_NAME, AGENT_TYPE, CONTROL_RPC_TIMEOUT, check_event
from agents.core.errors import ConflictError, NotFoundError, ValidationError
from workflows import Bridge, WorkflowEventSignal, error_info

if TYPE_CHECKING:
    from agents.control.ports import ControlRuntime

_STATUS = {
    WorkflowExecutionStatus.RUNNING: "running",
    WorkflowExecutionStatus.COMPLETED: "complete",
    WorkflowExecutionStatus.FAILED: "errored",
    WorkflowExecutionStatus.TIMED_OUT: "errored",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.CANCELED: "terminated",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "running",
}


class StandaloneRuns:
    def __init__(self, runtime: ControlRuntime) -> None:
        self._rt = runtime

    async def _describe(self, workflow_id: str) -> WorkflowExecutionDescription:
        # What Temporal takes as an id (it refuses an empty one with a bare error).
        if not workflow_id.strip() or len(workflow_id) > 1000 or any(ord(c) < 32 or c == "\x7f" for c in workflow_id):
            raise ValidationError(
                f"workflow id {workflow_id[:100]!r} is not allowed: 1-1000 characters, no control characters"
            )
        try:
            description = await self._rt.temporal.get_workflow_handle(workflow_id).describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise NotFoundError(f"no workflow run {workflow_id!r}") from None
            raise
        attrs = description.typed_search_attributes
        owner = attrs.get(AGENT_TYPE), attrs.get(AGENT_NAME)
        if owner[0] and owner[1]:
            raise NotFoundError(
                f"workflow {workflow_id!r} belongs to agent {owner[0]}/{owner[1]}; "
                f"steer it under /agents/{owner[0]}/{owner[1]}/workflows"
            )
        return description

    async def get(self, workflow_id: str) -> dict[str, Any]:
        description = await self._describe(workflow_id)
        status = _STATUS.get(description.status, "running") if description.status else "running"
        out: dict[str, Any] = {
            "workflow_id": workflow_id,
            "run_id": description.run_id,
            "workflow_name": description.workflow_type,
            "status": status,
            "result": None,
            "error": None,
        }
        # The execution just described (not a newer one's result, waited for), within a deadline.
        handle = self._rt.temporal.get_workflow_handle(workflow_id, run_id=description.run_id)
        if status == "complete":
            out["result"] = await handle.result(rpc_timeout=CONTROL_RPC_TIMEOUT)
        elif description.status == WorkflowExecutionStatus.FAILED:
            try:
                await handle.result(rpc_timeout=CONTROL_RPC_TIMEOUT)
            except WorkflowFailureError as failure:
                out["error"] = error_info(failure.cause)
        return out

    async def send_event(self, workflow_id: str, type: str, payload: Any) -> None:
        check_event(type, payload)
        description = await self._describe(workflow_id)
        if description.status != WorkflowExecutionStatus.RUNNING:
            raise ConflictError(f"workflow {workflow_id!r} has finished; it takes no more events")
        await self._rt.temporal.get_workflow_handle(workflow_id).signal(
            Bridge.SIGNAL_EVENT, WorkflowEventSignal(type, payload), rpc_timeout=CONTROL_RPC_TIMEOUT
        )
