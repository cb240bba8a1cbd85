"""An agent's lifecycle: `on_start` once per activation, and `destroy()`.

An activation is an agent at work in one process, like an Orleans grain activation or
a Cloudflare Durable Object awake in memory: it begins with the first call the process
makes into the agent and ends after ACTIVATION_IDLE without one (or at `destroy()`).
`on_start` runs in the agent's turn as each activation begins, before that first call.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import structlog
from temporalio.service import RPCError, RPCStatusCode

from ._keys import AgentKeys
from ._messages import close_envelope
from ._tracking import due_member, retention_key

if TYPE_CHECKING:
    from ._agent import Agent
    from ._runtime import AgentRuntime

log = structlog.get_logger("agents.lifecycle")

ACTIVATION_IDLE = 300.0
"""Seconds without a call after which an activation ends (the next call starts one)."""
_MAX_ACTIVATIONS = 100_000
DESTROYED_CLOSE = (4000, "agent destroyed")
"""The WebSocket close code and reason clients of a destroyed agent get."""


class Activations:
    """Which agents are active in this process (an LRU of last-call times), and in which
    incarnation: an agent with `on_start` marks each incarnation in Redis (`born`, in its
    meta hash) as its first activation after a `destroy()` begins, and every process
    reads the mark with each turn. A process whose activation belongs to an earlier
    incarnation (the agent was destroyed through another process) begins a new one, so
    `on_start` runs again there too."""

    def __init__(self) -> None:
        self._last: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def begins(self, keys: AgentKeys, born: str = "") -> bool:
        """Record a call in incarnation `born`; True if it begins a new activation."""
        key, now = keys.channel, time.monotonic()
        last, was = self._last.pop(key, (None, ""))
        self._last[key] = (now, born)
        if len(self._last) > _MAX_ACTIVATIONS:
            self._last.popitem(last=False)
        return last is None or now - last > ACTIVATION_IDLE or was != born

    def mark(self, keys: AgentKeys, born: str) -> None:
        """The incarnation this process's activation began (written by `Agent._activate`)."""
        if keys.channel in self._last:
            self._last[keys.channel] = (self._last[keys.channel][0], born)

    def pending(self, keys: AgentKeys) -> bool:
        """Whether the next call would begin a new activation (nothing recorded)."""
        last = self._last.get(keys.channel)
        return last is None or time.monotonic() - last[0] > ACTIVATION_IDLE

    def end(self, keys: AgentKeys) -> None:
        self._last.pop(keys.channel, None)


async def destroy(runtime: AgentRuntime, agent: Agent[Any]) -> None:
    """Stop everything the agent runs on Temporal, close its clients and remove every key
    of it from Redis. Runs in the agent's turn, so no call of it runs meanwhile."""
    keys = agent.keys
    for call in await runtime.calls.list(agent):
        await runtime.calls.cancel(agent, call.id)
    for schedule_id in await runtime.redis.hkeys(keys.schedules):
        await runtime.schedules.delete(agent, schedule_id)
    temporal_ids = [runtime.queue.workflow_id(agent)]
    tracking_ids = []
    async for row in runtime.queries.all(keys):
        tracking_ids.append(row.workflow_id)
        if row.status in ("running", "waiting", "paused", "queued"):
            temporal_ids.append(row.temporal_workflow_id)
    for temporal_id in temporal_ids:
        try:
            await runtime.temporal.get_workflow_handle(temporal_id).terminate(reason="agent destroyed")
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
    await runtime.redis.spublish(keys.channel, close_envelope(*DESTROYED_CLOSE))
    if tracking_ids:
        members = [due_member(keys, tracking_id) for tracking_id in tracking_ids]
        await runtime.redis.zrem(retention_key(runtime.settings.redis_key_prefix), *members)
    deleted = 0
    async for key in runtime.redis.scan_iter(match=keys.all_keys_pattern, count=500):
        # Not the turn this runs in: deleted mid-scan, it let a waiting call in while keys
        # were still being deleted (the call's writes among them). It ends with the turn.
        if key != keys.turn:
            deleted += await runtime.redis.unlink(key)
    runtime.activations.end(keys)
    log.info("agent destroyed", agent=f"{agent.agent_type}/{agent.name}", keys=deleted, stopped=len(temporal_ids))
