"""`/agents/{agent}/{name}/calls/...`: an agent's scheduled and queued method calls (list
and cancel; scheduling itself is the agent's own code), and `DELETE /agents/{agent}/{name}`
(`destroy()`). Read scope for GET, control for the rest, as on every agent route."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from agents.core.errors import NotFoundError
from agents.http.deps import AgentDep
from agents.http.schemas import Deleted, Destroyed, QueuedCallOut, QueueOut, ScheduledCallOut, ScheduledCallsOut

router = APIRouter(prefix="/{agent}/{name}", tags=["calls"])

CallType = Literal["scheduled", "delayed", "cron", "interval"]


@router.get("/calls/scheduled", response_model=ScheduledCallsOut)
async def list_scheduled(
    agent: AgentDep,
    type: Annotated[CallType | None, Query(description="only calls of this type")] = None,
    start: Annotated[datetime | None, Query(description="only calls due at or after (ISO 8601)")] = None,
    end: Annotated[datetime | None, Query(description="only calls due at or before (ISO 8601)")] = None,
) -> ScheduledCallsOut:
    calls = await agent.get_schedules(type=type, start=start, end=end)
    return ScheduledCallsOut(schedules=[ScheduledCallOut.of(c) for c in calls])


@router.get("/calls/scheduled/{call_id}", response_model=ScheduledCallOut)
async def get_scheduled(agent: AgentDep, call_id: str) -> ScheduledCallOut:
    call = await agent.get_schedule(call_id)
    if call is None:
        raise NotFoundError(f"no scheduled call {call_id!r} for {agent.agent_type}/{agent.name}")
    return ScheduledCallOut.of(call)


@router.delete("/calls/scheduled/{call_id}", response_model=Deleted)
async def cancel_scheduled(agent: AgentDep, call_id: str) -> Deleted:
    if not await agent.cancel_schedule(call_id):
        raise NotFoundError(f"no scheduled call {call_id!r} for {agent.agent_type}/{agent.name}")
    return Deleted(deleted=1)


@router.get("/calls/queue", response_model=QueueOut)
async def list_queue(agent: AgentDep) -> QueueOut:
    return QueueOut(queue=[QueuedCallOut.of(c) for c in await agent.get_queue()])


@router.delete("/calls/queue/{call_id}", response_model=Deleted)
async def dequeue(agent: AgentDep, call_id: str) -> Deleted:
    if not await agent.dequeue(call_id):
        raise NotFoundError(f"no queued call {call_id!r} for {agent.agent_type}/{agent.name}")
    return Deleted(deleted=1)


@router.delete("", response_model=Destroyed)
async def destroy(agent: AgentDep) -> Destroyed:
    """Destroy the agent: cancel its calls and schedules, terminate its runs, close its
    clients and delete its state and tracking."""
    await agent.destroy()
    return Destroyed()
