"""An agent's scheduled method calls (Cloudflare's `this.schedule`), on Temporal.

A one-shot (`when` in seconds or a datetime) is one `agents.method_call` workflow
started with a start delay: Temporal holds it as a timer, so 10,000 pending one-shots
cost no worker and no polling. A cron or interval call is a Temporal Schedule that
starts the same workflow each time. The agent keeps a row per schedule in Redis (what
`get_schedules` lists), written before Temporal is asked, removed when a one-shot is
spent or a schedule cancelled.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.service import RPCError, RPCStatusCode

from agents.control.runs import ID_PATTERN, search_attributes
from agents.control.schedules import check_cron, create_temporal_schedule
from agents.core.errors import ConflictError, ValidationError
from agents.core.ids import AgentId
from agents.core.payloads import check_json
from agents.core.records import RetryOptions, ScheduledCall
from agents.store.tracking import now_ms
from workflows.contracts import AgentRef, Bridge, MethodCallInput

if TYPE_CHECKING:
    from agents.control.ports import ControlRuntime

MAX_SCHEDULES = 10_000
"""Pending scheduled calls one agent may have."""
MAX_DELAY = timedelta(days=3650)


class ScheduledCalls:
    def __init__(self, runtime: ControlRuntime) -> None:
        self._rt = runtime

    def _temporal_id(self, agent: AgentId, call_id: str) -> str:
        return f"{agent.agent_type}/{agent.name}/call/{call_id}"

    async def create(
        self, agent: AgentId, when: Any, method: str, payload: Any, *, id: str | None, retry: RetryOptions, every: Any
    ) -> ScheduledCall:
        """`method`: the agent's method to call, checked by the agent (`callback_name`)."""
        check_json(payload, what="payload")
        call_id = id or f"call_{secrets.token_hex(8)}"
        if not ID_PATTERN.match(call_id) or len(call_id) > 64:
            raise ValidationError(f"schedule id {call_id!r} is not allowed: 1-64 letters, digits, '_', '.', '-'")
        created = now_ms()
        row = ScheduledCall(
            call_id,
            method,
            payload,
            "delayed",
            0,
            created,
            attempts=retry.max_attempts,
            base_delay=retry.base_delay,
            max_delay=retry.max_delay,
        )
        delay: timedelta | None = None
        if every is not None:
            seconds = _seconds(every, what="every")
            if seconds < 1:
                raise ValidationError("every must be at least 1 second")
            row.type, row.interval_seconds, row.time = "interval", seconds, math.ceil(created / 1000 + seconds)
        elif isinstance(when, str):
            row.type, row.cron = "cron", check_cron(when)
        elif isinstance(when, datetime):
            if when.tzinfo is None:
                raise ValidationError("a datetime to schedule at needs a timezone (datetime.now(UTC) + ...)")
            row.type, row.time = "scheduled", int(when.timestamp())
            delay = max(timedelta(0), when - datetime.now(UTC))
        else:
            row.delay_in_seconds = _seconds(when, what="when")
            delay = timedelta(seconds=row.delay_in_seconds)
            row.time = math.ceil(created / 1000 + row.delay_in_seconds)
        if delay is not None and delay > MAX_DELAY:
            raise ValidationError("a call can be scheduled at most 10 years ahead")
        key = agent.keys.calls
        if await self._rt.redis.hlen(key) >= MAX_SCHEDULES:
            raise ConflictError(f"this agent has {MAX_SCHEDULES} scheduled calls already; cancel some first")
        if not await self._rt.redis.hsetnx(key, call_id, _dump(row)):
            raise ConflictError(f"a scheduled call with id {call_id!r} already exists for this agent")
        try:
            await self._start(agent, row, delay)
        except BaseException:
            await self._rt.redis.hdel(key, call_id)
            raise
        return row

    async def _start(self, agent: AgentId, row: ScheduledCall, delay: timedelta | None) -> None:
        ref = AgentRef(agent.agent_type, agent.name)
        temporal_id = self._temporal_id(agent, row.id)
        recurring = row.type in ("cron", "interval")
        call = MethodCallInput(
            ref,
            row.id,
            row.callback,
            row.payload,
            recurring=recurring,
            attempts=row.attempts,
            base_delay=row.base_delay,
            max_delay=row.max_delay,
        )
        attributes = search_attributes(agent, Bridge.METHOD_CALL_WORKFLOW)
        common: dict[str, Any] = {
            "id": temporal_id,
            "task_queue": self._rt.settings.task_queue,
            "static_summary": f"{row.callback}() of {agent.agent_type}/{agent.name}",
        }
        if not recurring:
            await self._rt.temporal.start_workflow(
                Bridge.METHOD_CALL_WORKFLOW, call, start_delay=delay or None, search_attributes=attributes, **common
            )
            return
        if row.type == "interval":
            every = timedelta(seconds=row.interval_seconds or 1)
            # Phase the interval so the first call comes `every` after now, not on an
            # epoch multiple of it (Temporal's default).
            offset = timedelta(milliseconds=row.created_at % int(every.total_seconds() * 1000))
            spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every, offset=offset)])
        else:
            spec = ScheduleSpec(cron_expressions=[row.cron or ""])
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                Bridge.METHOD_CALL_WORKFLOW, call, typed_search_attributes=attributes, **common
            ),
            spec=spec,
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        )
        handle = await create_temporal_schedule(
            self._rt, temporal_id, schedule, taken=f"a scheduled call with id {row.id!r} already exists for this agent"
        )
        if row.type == "cron":
            await self._refresh_cron(agent, row, handle=handle)

    async def _refresh_cron(self, agent: AgentId, row: ScheduledCall, *, handle: Any = None) -> None:
        """A cron row's next time, from Temporal (it knows the calendar)."""
        handle = handle or self._rt.temporal.get_schedule_handle(self._temporal_id(agent, row.id))
        try:
            upcoming = (await handle.describe()).info.next_action_times
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            return
        if upcoming:
            row.time = int(upcoming[0].timestamp())
            await self._rt.redis.hset(agent.keys.calls, row.id, _dump(row))

    async def get(self, agent: AgentId, call_id: str) -> ScheduledCall | None:
        raw = await self._rt.redis.hget(agent.keys.calls, call_id)
        return None if raw is None else await self._current(agent, _load(raw))

    async def list(
        self,
        agent: AgentId,
        *,
        type: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[ScheduledCall]:
        rows = [_load(raw) for raw in (await self._rt.redis.hgetall(agent.keys.calls)).values()]
        rows = [await self._current(agent, row) for row in rows if type is None or row.type == type]
        low = start.timestamp() if start else -math.inf
        high = end.timestamp() if end else math.inf
        return sorted((r for r in rows if low <= r.time <= high), key=lambda r: (r.time, r.id))

    async def _current(self, agent: AgentId, row: ScheduledCall) -> ScheduledCall:
        """A recurring row with its next time brought up to now."""
        now = datetime.now(UTC).timestamp()
        if row.type == "interval" and row.time <= now and row.interval_seconds:
            start = row.created_at / 1000
            row.time = math.ceil(start + (math.floor((now - start) / row.interval_seconds) + 1) * row.interval_seconds)
        elif row.type == "cron" and row.time <= now:
            await self._refresh_cron(agent, row)
        return row

    async def cancel(self, agent: AgentId, call_id: str) -> bool:
        raw = await self._rt.redis.hget(agent.keys.calls, call_id)
        if raw is None:
            return False
        row = _load(raw)
        temporal_id = self._temporal_id(agent, call_id)
        try:
            if row.type in ("cron", "interval"):
                await self._rt.temporal.get_schedule_handle(temporal_id).delete()
            else:
                await self._rt.temporal.get_workflow_handle(temporal_id).terminate(reason="schedule cancelled")
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        return bool(await self._rt.redis.hdel(agent.keys.calls, call_id))

    async def spent(self, agent: AgentId, call_id: str) -> None:
        """A one-shot ran (or gave up): off the list."""
        await self._rt.redis.hdel(agent.keys.calls, call_id)


def _seconds(value: Any, *, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValidationError(f"{what} must be a number of seconds >= 0, a datetime or a cron string; got {value!r}")
    if value > MAX_DELAY.total_seconds():
        raise ValidationError("a call can be scheduled at most 10 years ahead")
    return float(value)


def _dump(row: ScheduledCall) -> str:
    return json.dumps(asdict(row), separators=(",", ":"))


def _load(raw: str | bytes) -> ScheduledCall:
    return ScheduledCall(**json.loads(raw))
