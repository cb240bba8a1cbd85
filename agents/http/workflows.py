"""`/agents/{agent}/{name}/workflows...`: start, list, inspect, delete and steer runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response

from agents.core.errors import NotFoundError, ValidationError
from agents.http.deps import AgentDep
from agents.http.schemas import (
    Accepted,
    Approve,
    CreateBatch,
    Deleted,
    Reject,
    Restart,
    StartWorkflow,
    Terminate,
    UpdateMetadata,
    WorkflowBatchOut,
    WorkflowEvent,
    WorkflowInfoOut,
    WorkflowPageOut,
    accepted,
)

router = APIRouter(prefix="/{agent}/{name}/workflows", tags=["workflows"])

Statuses = Annotated[list[str] | None, Query(description="one or more statuses (repeat, or comma-separate)")]


def _statuses(values: list[str] | None) -> list[str] | None:
    return [s for v in values for s in v.split(",") if s] if values else None


def _metadata(request: Request) -> dict[str, str] | None:
    """`?metadata.<key>=<value>` filters (all must match)."""
    found = {k.removeprefix("metadata."): v for k, v in request.query_params.items() if k.startswith("metadata.")}
    return found or None


def _epoch_ms(value: str | None) -> int | None:
    if value is None:
        return None
    if value.isascii() and value.isdigit() and len(value) <= 15:  # "²".isdigit() is True too
        return int(value)
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except (ValueError, OverflowError):
        raise ValidationError(f"created_before must be epoch milliseconds or an ISO 8601 time, not {value!r}") from None


@router.post("", status_code=201, response_model=WorkflowInfoOut)
async def start_workflow(agent: AgentDep, body: StartWorkflow) -> WorkflowInfoOut:
    # The row comes back with the start's last write: no second read.
    info = await agent.start_tracked_run(
        body.workflow, body.params, id=body.id, metadata=body.metadata, retention=body.retention
    )
    return WorkflowInfoOut.of(info)


@router.post("/batch", response_model=WorkflowBatchOut)
async def create_batch(agent: AgentDep, body: CreateBatch) -> WorkflowBatchOut:
    """Up to 100 runs in one call: `count` with `params`, or `instances`. A run that cannot
    start is listed in `errors` (by its index); the others start."""
    batch = await agent.create_workflow_batch(
        body.workflow, count=body.count, params=body.params, instances=body.instances
    )
    return WorkflowBatchOut.of(batch)


# The routes a waiting run is steered by come next: FastAPI tries a router's routes in
# order, twice a request (which router, then which route), at a few microseconds each.
@router.post("/{workflow_id}/events", status_code=202, response_model=Accepted)
async def send_event(agent: AgentDep, workflow_id: str, body: WorkflowEvent) -> Response:
    await agent.send_workflow_event(workflow_id, body.type, body.payload)
    return accepted()


@router.post("/{workflow_id}/approve", status_code=202, response_model=Accepted)
async def approve(agent: AgentDep, workflow_id: str, body: Annotated[Approve | None, Body()] = None) -> Response:
    body = body or Approve()
    await agent.approve_workflow(workflow_id, reason=body.reason, metadata=body.metadata)
    return accepted()


@router.post("/{workflow_id}/reject", status_code=202, response_model=Accepted)
async def reject(agent: AgentDep, workflow_id: str, body: Annotated[Reject | None, Body()] = None) -> Response:
    await agent.reject_workflow(workflow_id, reason=(body or Reject()).reason)
    return accepted()


@router.get("", response_model=WorkflowPageOut)
async def list_workflows(
    agent: AgentDep,
    request: Request,
    status: Statuses = None,
    workflow: str | None = None,
    limit: Annotated[int, Query(ge=1, description="page size, capped at 100")] = 50,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    cursor: str | None = None,
) -> WorkflowPageOut:
    page = await agent.get_workflows(
        status=_statuses(status),
        workflow_name=workflow,
        metadata=_metadata(request),
        limit=limit,
        order=order,
        cursor=cursor,
    )
    return WorkflowPageOut.of(page)


@router.delete("", response_model=Deleted)
async def delete_workflows(
    agent: AgentDep,
    request: Request,
    status: Statuses = None,
    workflow: str | None = None,
    created_before: str | None = None,
) -> Deleted:
    count = await agent.delete_workflows(
        status=_statuses(status),
        workflow_name=workflow,
        metadata=_metadata(request),
        created_before=_epoch_ms(created_before),
    )
    return Deleted(deleted=count)


@router.get("/{workflow_id}", response_model=WorkflowInfoOut)
async def get_workflow(agent: AgentDep, workflow_id: str) -> WorkflowInfoOut:
    return WorkflowInfoOut.of(await agent.require_workflow(workflow_id))


@router.delete("/{workflow_id}", response_model=Deleted)
async def delete_workflow(
    agent: AgentDep,
    workflow_id: str,
    temporal: Annotated[
        bool, Query(description="also delete its executions from Temporal (history, visibility)")
    ] = False,
) -> Deleted:
    if not await agent.delete_workflow(workflow_id, from_temporal=temporal):
        raise NotFoundError(f"no workflow {workflow_id!r} for {agent.agent_type}/{agent.name}")
    return Deleted(deleted=1)


@router.post("/{workflow_id}/pause", response_model=WorkflowInfoOut)
async def pause(agent: AgentDep, workflow_id: str) -> WorkflowInfoOut:
    return WorkflowInfoOut.of(await agent.pause_workflow(workflow_id))


@router.post("/{workflow_id}/resume", response_model=WorkflowInfoOut)
async def resume(agent: AgentDep, workflow_id: str) -> WorkflowInfoOut:
    return WorkflowInfoOut.of(await agent.resume_workflow(workflow_id))


@router.patch("/{workflow_id}", response_model=WorkflowInfoOut)
async def update_metadata(agent: AgentDep, workflow_id: str, body: UpdateMetadata) -> WorkflowInfoOut:
    info = await agent.update_workflow_metadata(workflow_id, body.metadata, replace=body.replace)
    return WorkflowInfoOut.of(info)


@router.post("/{workflow_id}/terminate", response_model=WorkflowInfoOut)
async def terminate(
    agent: AgentDep, workflow_id: str, body: Annotated[Terminate | None, Body()] = None
) -> WorkflowInfoOut:
    body = body or Terminate()
    return WorkflowInfoOut.of(await agent.terminate_workflow(workflow_id, body.reason, rollback=body.rollback))


@router.post("/{workflow_id}/restart", response_model=WorkflowInfoOut)
async def restart(agent: AgentDep, workflow_id: str, body: Annotated[Restart | None, Body()] = None) -> WorkflowInfoOut:
    body = body or Restart()
    info = await agent.restart_workflow(workflow_id, reset_tracking=body.reset_tracking, from_step=body.from_step)
    return WorkflowInfoOut.of(info)
