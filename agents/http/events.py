"""`POST /agents/{agent}/{name}/events/{workflow}`: event-driven starts for webhooks."""

from __future__ import annotations

from fastapi import APIRouter, Response

from agents.http.deps import AgentDep
from agents.http.schemas import Delivered, DeliverEvent

router = APIRouter(prefix="/{agent}/{name}/events", tags=["workflows"])


@router.post("/{workflow}", response_model=Delivered, responses={201: {"model": Delivered}})
async def deliver(agent: AgentDep, workflow: str, body: DeliverEvent, response: Response) -> Delivered:
    """Deliver the event to the running `workflow` run for `key`, or start one (201)."""
    run_id, started = await agent.deliver_event(
        workflow, body.key, type=body.type, payload=body.payload, params=body.params
    )
    response.status_code = 201 if started else 200
    return Delivered(id=run_id, started=started)
