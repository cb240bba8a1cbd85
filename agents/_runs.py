"""Starting and steering the runs an agent owns, on Temporal, tracked in Redis."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pydantic
from pydantic_core import to_jsonable_python
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from workflows import AgentRef, AgentWorkflowInput, Bridge, WorkflowEventSignal

from .errors import ConflictError, NotFoundError, ValidationError
from ._tracking import FINISHED, WorkflowInfo, now_ms

if TYPE_CHECKING:
    from ._agent import Agent
    from ._runtime import AgentRuntime

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_EVENT_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}$")


def temporal_workflow_id(agent: Agent[Any], tracking_id: str) -> str:
    """Temporal ids are namespaced by agent, so two agents may use the same run id."""
    return f"{agent.agent_type}/{agent.name}/{tracking_id}"


class RunService:
    def __init__(self, runtime: AgentRuntime) -> None:
        self._rt = runtime

    def validate_params(self, workflow_name: str, params: Any) -> dict[str, Any]:
        """Params checked against the workflow's params model, as a JSON object."""
        cls = self._rt.registry.workflow_class(workflow_name)
        params = {} if params is None else params
        if cls.params_model is not None:
            try:
                params = pydantic.TypeAdapter(cls.params_model).validate_python(params)
            except pydantic.ValidationError as err:
                raise ValidationError(
                    f"invalid params for workflow {workflow_name!r}",
                    errors=err.errors(include_url=False, include_context=False),
                ) from err
        data = to_jsonable_python(params)
        if not isinstance(data, dict):
            raise ValidationError(f"params of {workflow_name!r} must be a JSON object")
        return data

    async def start(
        self, agent: Agent[Any], name: str, params: Any, *, id: str, metadata: dict[str, Any]
    ) -> str:
        data = self.validate_params(name, params)
        if not _ID.match(id):
            raise ValidationError(
                f"workflow id {id!r} is not allowed: use 1-128 letters, digits, '_', '.' or '-'"
            )
        info = WorkflowInfo(
            id=id,
            workflow_id=temporal_workflow_id(agent, id),
            workflow_name=name,
            status="queued",
            params=data,
            metadata=metadata,
            created_at=now_ms(),
        )
        if not await self._rt.tracker.create(agent.keys, info):
            raise ConflictError(f"a workflow with id {id!r} already exists for this agent")
        try:
            await self._rt.temporal.start_workflow(
                name,
                AgentWorkflowInput(
                    params=data,
                    agent=AgentRef(agent.agent_type, agent.name),
                    tracking_id=id,
                    metadata=metadata,
                ),
                id=info.workflow_id,
                task_queue=self._rt.settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                static_summary=f"{name} for {agent.agent_type}/{agent.name}",
            )
        except WorkflowAlreadyStartedError:
            await self._rt.tracker.delete(agent.keys, id)
            raise ConflictError(f"a workflow with id {id!r} already exists for this agent") from None
        except BaseException:
            await self._rt.tracker.delete(agent.keys, id)
            raise
        return id

    async def get(self, agent: Agent[Any], tracking_id: str) -> WorkflowInfo | None:
        return await self._rt.tracker.get(agent.keys, tracking_id)

    async def require(self, agent: Agent[Any], tracking_id: str) -> WorkflowInfo:
        info = await self.get(agent, tracking_id)
        if info is None:
            raise NotFoundError(f"no workflow {tracking_id!r} for {agent.agent_type}/{agent.name}")
        return info

    async def signal_event(self, agent: Agent[Any], tracking_id: str, type: str, payload: Any) -> None:
        if not isinstance(type, str) or not _EVENT_TYPE.match(type):
            raise ValidationError(
                f"event type {type!r} is not allowed: use 1-100 letters, digits, '_', '.', ':' or '-'"
            )
        info = await self.require(agent, tracking_id)
        if info.status in FINISHED:
            raise ConflictError(f"workflow {tracking_id!r} is {info.status}; it takes no more events")
        handle = self._rt.temporal.get_workflow_handle(info.workflow_id)
        try:
            await handle.signal(Bridge.SIGNAL_EVENT, WorkflowEventSignal(type, payload))
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise ConflictError(
                    f"workflow {tracking_id!r} has finished; it takes no more events"
                ) from None
            raise



