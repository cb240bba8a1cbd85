"""`/agents/{agent}/{name}/schedules...`: an agent's schedules (Temporal Schedules)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from agents.http.deps import AgentDep
from agents.http.schemas import Accepted, CreateSchedule, Deleted, ScheduleOut, SchedulesOut, accepted

router = APIRouter(prefix="/{agent}/{name}/schedules", tags=["schedules"])


@router.post("", status_code=201, response_model=ScheduleOut)
async def create(agent: AgentDep, body: CreateSchedule) -> ScheduleOut:
    schedule_id = await agent.schedule_workflow(
        body.workflow,
        body.params,
        cron=body.cron,
        every=body.every,
        at=body.at,
        id=body.id,
        metadata=body.metadata,
        overlap=body.overlap,
    )
    return ScheduleOut.of(await agent.get_workflow_schedule(schedule_id))


@router.get("", response_model=SchedulesOut)
async def list_schedules(agent: AgentDep) -> SchedulesOut:
    return SchedulesOut(schedules=[ScheduleOut.of(info) for info in await agent.get_workflow_schedules()])


@router.get("/{schedule_id}", response_model=ScheduleOut)
async def get(agent: AgentDep, schedule_id: str) -> ScheduleOut:
    return ScheduleOut.of(await agent.get_workflow_schedule(schedule_id))


@router.post("/{schedule_id}/pause", response_model=ScheduleOut)
async def pause(agent: AgentDep, schedule_id: str) -> ScheduleOut:
    return ScheduleOut.of(await agent.pause_schedule(schedule_id))


@router.post("/{schedule_id}/resume", response_model=ScheduleOut)
async def resume(agent: AgentDep, schedule_id: str) -> ScheduleOut:
    return ScheduleOut.of(await agent.resume_schedule(schedule_id))


@router.post("/{schedule_id}/trigger", status_code=202, response_model=Accepted)
async def trigger(agent: AgentDep, schedule_id: str) -> Response:
    await agent.trigger_schedule(schedule_id)
    return accepted()


@router.delete("/{schedule_id}", response_model=Deleted)
async def delete(agent: AgentDep, schedule_id: str) -> Deleted:
    await agent.delete_schedule(schedule_id)
    return Deleted(deleted=1)
