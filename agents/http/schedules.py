"""`/agents/{agent}/{name}/schedules...`: an agent's schedules (Temporal Schedules)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from .deps import AgentDep
from .schemas import Accepted, CreateSchedule, Deleted

router = APIRouter(prefix="/agents/{agent}/{name}/schedules", tags=["schedules"])


@router.post("", status_code=201)
async def create(agent: AgentDep, body: CreateSchedule) -> dict[str, Any]:
    schedule_id = await agent.schedule_workflow(body.workflow, body.params, cron=body.cron, every=body.every,
                                                at=body.at, id=body.id, metadata=body.metadata,
                                                overlap=body.overlap)  # fmt: skip
    return await agent.runtime.schedules.get(agent, schedule_id)


@router.get("")
async def list_schedules(agent: AgentDep) -> dict[str, Any]:
    return {"schedules": await agent.get_schedules()}


@router.get("/{schedule_id}")
async def get(agent: AgentDep, schedule_id: str) -> dict[str, Any]:
    return await agent.runtime.schedules.get(agent, schedule_id)


@router.post("/{schedule_id}/pause")
async def pause(agent: AgentDep, schedule_id: str) -> dict[str, Any]:
    return await agent.pause_schedule(schedule_id)


@router.post("/{schedule_id}/resume")
async def resume(agent: AgentDep, schedule_id: str) -> dict[str, Any]:
    return await agent.resume_schedule(schedule_id)


@router.post("/{schedule_id}/trigger", status_code=202, response_model=Accepted)
async def trigger(agent: AgentDep, schedule_id: str) -> Accepted:
    await agent.trigger_schedule(schedule_id)
    return Accepted()


@router.delete("/{schedule_id}", response_model=Deleted)
async def delete(agent: AgentDep, schedule_id: str) -> Deleted:
    await agent.delete_schedule(schedule_id)
    return Deleted(deleted=1)
