"""`/workflows/{workflow_id}...`: runs started outside any agent, by Temporal workflow id."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from agents.http.deps import Runtime
from agents.http.schemas import Accepted, Approve, Reject, WorkflowEvent, accepted

router = APIRouter(prefix="/workflows", tags=["standalone runs"])


@router.get("/{workflow_id:path}")
async def get_run(rt: Runtime, workflow_id: str) -> dict[str, Any]:
    """Status (and result or error) of a run no agent owns."""
    return await rt.standalone.get(workflow_id)


@router.post("/{workflow_id:path}/events", status_code=202, response_model=Accepted)
async def send_event(rt: Runtime, workflow_id: str, body: WorkflowEvent) -> Response:
    await rt.standalone.send_event(workflow_id, body.type, body.payload)
    return accepted()


@router.post("/{workflow_id:path}/approve", status_code=202, response_model=Accepted)
async def approve(rt: Runtime, workflow_id: str, body: Annotated[Approve | None, Body()] = None) -> Response:
    body = body or Approve()
    payload = {"approved": True, "reason": body.reason, "metadata": body.metadata}
    await rt.standalone.send_event(workflow_id, "approval", payload)
    return accepted()


@router.post("/{workflow_id:path}/reject", status_code=202, response_model=Accepted)
async def reject(rt: Runtime, workflow_id: str, body: Annotated[Reject | None, Body()] = None) -> Response:
    payload = {"approved": False, "reason": (body or Reject()).reason, "metadata": None}
    await rt.standalone.send_event(workflow_id, "approval", payload)
    return accepted()
