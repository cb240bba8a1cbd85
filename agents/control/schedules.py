"""An agent's schedules, on Temporal Schedules (visible in Temporal UI). Each run a
schedule starts carries the agent's identity and tracks itself (metadata names the
schedule), so scheduled runs list, steer and reconcile like any other."""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode

from agents.control.runs import ID_PATTERN, search_attributes
from agents.core.errors import ConflictError, NotFoundError, ValidationError
from agents.core.payloads import check_json
from agents.core.records import ScheduleInfo
from agents.store.tracking import now_ms
from workflows import AgentRef, AgentWorkflowInput, parse_duration

if TYPE_CHECKING:
    from agents.control.ports import ControlRuntime
    from agents.core.ids import AgentId


OVERLAP = {p.name.lower(): p for p in ScheduleOverlapPolicy if p.name != "UNSPECIFIED"}
_CRON = re.compile(r"^(@\w+|(\S+\s+){4,6}\S+)$")


def check_cron(cron: Any) -> str:
    """A cron expression (5-7 fields, or `@hourly` and the like), stripped; else 422."""
    if not isinstance(cron, str) or not _CRON.match(cron.strip()):
        raise ValidationError(f"cron {cron!r} is not a cron expression like '*/5 * * * *' or '@hourly'")
    return cron.strip()


def _spec(cron: str | None, every: Any, at: datetime | str | None) -> tuple[ScheduleSpec, dict[str, Any]]:
    given = [name for name, value in (("cron", cron), ("every", every), ("at", at)) if value is not None]
    if len(given) != 1:
        raise ValidationError("give exactly one of cron, every or at")
    if cron is not None:
        cron = check_cron(cron)
        return ScheduleSpec(cron_expressions=[cron]), {"cron": cron}
    if every is not None:
        try:
            interval = parse_duration(every, what="every")
        except ValueError as err:
            raise ValidationError(str(err)) from None
        if interval < timedelta(seconds=1):
            raise ValidationError("every must be at least 1 second")
        return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=interval)]), {"every": str(every)}
    when = _at(at)
    calendar = ScheduleCalendarSpec(
        second=[ScheduleRange(when.second)],
        minute=[ScheduleRange(when.minute)],
        hour=[ScheduleRange(when.hour)],
        day_of_month=[ScheduleRange(when.day)],
        month=[ScheduleRange(when.month)],
        year=[ScheduleRange(when.year)],
        day_of_week=[ScheduleRange(0, 6)],
    )
    return ScheduleSpec(calendars=[calendar]), {"at": when.isoformat()}


def _at(at: Any) -> datetime:
    """`at` as a UTC datetime; 422 for text that is no ISO 8601 time with a timezone, or
    one that has no UTC equivalent (`0001-01-01T00:00:00+14:00` falls before year 1)."""
    problem = "at must be an ISO 8601 time with a timezone, like '2030-01-01T09:00:00Z'"
    try:
        when = datetime.fromisoformat(at.replace("Z", "+00:00")) if isinstance(at, str) else at
    except ValueError as err:
        raise ValidationError(f"{problem}: {err}") from None
    if not isinstance(when, datetime) or when.tzinfo is None:
        raise ValidationError(problem)
    try:
        return when.astimezone(UTC)
    except OverflowError:
        raise ValidationError(f"at {at!s} is out of range: it has no time in UTC") from None


async def create_temporal_schedule(
    rt: ControlRuntime, schedule_id: str, schedule: Schedule, *, taken: str
) -> ScheduleHandle:
    """Create a Temporal Schedule: ConflictError(`taken`) if the id exists, 422 with
    Temporal's reason if it refuses the spec."""
    try:
        return await rt.temporal.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        raise ConflictError(taken) from None
    except RPCError as err:
        if err.status == RPCStatusCode.INVALID_ARGUMENT:
            raise ValidationError(f"Temporal refused the schedule: {err.message}") from None
        raise


class ScheduleService:
    def __init__(self, runtime: ControlRuntime) -> None:
        self._rt = runtime

    def _key(self, agent: AgentId) -> str:
        return agent.keys.schedules

    def _handle(self, agent: AgentId, schedule_id: str) -> ScheduleHandle:
        return self._rt.temporal.get_schedule_handle(f"{agent.agent_type}/{agent.name}/{schedule_id}")

    async def create(
        self,
        agent: AgentId,
        workflow: str,
        params: Any,
        *,
        cron: str | None,
        every: Any,
        at: Any,
        id: str | None,
        metadata: dict[str, Any] | None,
        overlap: str,
    ) -> str:
        data = self._rt.runs.validate_params(workflow, params)
        schedule_id = id or f"sch_{secrets.token_hex(8)}"
        if not ID_PATTERN.match(schedule_id) or len(schedule_id) > 64:
            raise ValidationError(f"schedule id {schedule_id!r} is not allowed: 1-64 letters, digits, '_', '.', '-'")
        if overlap not in OVERLAP:
            raise ValidationError(f"overlap {overlap!r}: use one of {', '.join(OVERLAP)}")
        spec, described = _spec(cron, every, at)
        meta = {**(metadata or {}), "schedule": schedule_id}
        check_json(meta, what="metadata")
        action = ScheduleActionStartWorkflow(
            workflow,
            AgentWorkflowInput(params=data, agent=AgentRef(agent.agent_type, agent.name), metadata=meta),
            id=f"{agent.agent_type}/{agent.name}/{schedule_id}",
            task_queue=self._rt.settings.task_queue,
            typed_search_attributes=search_attributes(agent, workflow),
            static_summary=f"{workflow} for {agent.agent_type}/{agent.name} (schedule {schedule_id})",
        )
        state = ScheduleState(limited_actions=True, remaining_actions=1) if "at" in described else ScheduleState()
        record = {
            "id": schedule_id,
            "workflow_name": workflow,
            "params": data,
            "metadata": meta,
            "overlap": overlap,
            "created_at": now_ms(),
            **described,
        }
        taken = f"a schedule with id {schedule_id!r} already exists for this agent"
        # The record first: a schedule in Temporal without one would fire, yet could not be
        # listed or deleted through the agent. A record whose schedule is missing shows
        # `missing_in_temporal` and deletes as any other.
        if not await self._rt.redis.hsetnx(self._key(agent), schedule_id, json.dumps(record)):
            raise ConflictError(taken)
        try:
            await create_temporal_schedule(
                self._rt,
                f"{agent.agent_type}/{agent.name}/{schedule_id}",
                Schedule(action=action, spec=spec, policy=SchedulePolicy(overlap=OVERLAP[overlap]), state=state),
                taken=taken,
            )
        except (ConflictError, ValidationError):  # Temporal refused it: nothing was created
            await self._rt.redis.hdel(self._key(agent), schedule_id)
            raise
        return schedule_id

    async def get(self, agent: AgentId, schedule_id: str) -> ScheduleInfo:
        raw = await self._rt.redis.hget(self._key(agent), schedule_id)
        if raw is None:
            raise NotFoundError(f"no schedule {schedule_id!r} for {agent.agent_type}/{agent.name}")
        record = json.loads(raw)
        try:
            description = await self._handle(agent, schedule_id).describe()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            return ScheduleInfo(**record, paused=None, missing_in_temporal=True)
        info = description.info
        return ScheduleInfo(
            **record,
            paused=description.schedule.state.paused,
            runs_started=info.num_actions,
            next_runs=[t.isoformat() for t in info.next_action_times[:5]],
        )

    async def list(self, agent: AgentId) -> list[ScheduleInfo]:
        ids = sorted(await self._rt.redis.hkeys(self._key(agent)))
        return [await self.get(agent, schedule_id) for schedule_id in ids]

    async def pause(self, agent: AgentId, schedule_id: str) -> ScheduleInfo:
        await self.get(agent, schedule_id)
        await self._handle(agent, schedule_id).pause(note=f"paused by {agent.agent_type}/{agent.name}")
        return await self.get(agent, schedule_id)

    async def resume(self, agent: AgentId, schedule_id: str) -> ScheduleInfo:
        await self.get(agent, schedule_id)
        await self._handle(agent, schedule_id).unpause(note=f"resumed by {agent.agent_type}/{agent.name}")
        return await self.get(agent, schedule_id)

    async def trigger(self, agent: AgentId, schedule_id: str) -> None:
        """Start a run now, whatever the spec says (even while paused)."""
        await self.get(agent, schedule_id)
        await self._handle(agent, schedule_id).trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)

    async def delete(self, agent: AgentId, schedule_id: str) -> None:
        await self.get(agent, schedule_id)
        try:
            await self._handle(agent, schedule_id).delete()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        await self._rt.redis.hdel(self._key(agent), schedule_id)
