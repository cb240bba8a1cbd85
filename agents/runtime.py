"""The composition root: `AgentRuntime`, what one process (API or worker) needs to act
for any agent, wired from the rooms below it (`core`, `store`, `actor`, `control`);
`open_runtime`, how every process starts with one; `exit_process`, how it leaves."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, NoReturn

import structlog
from redis.asyncio import Redis
from temporalio.client import Client, Interceptor
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from agents.actor.activation import Activations
from agents.actor.agent import Agent, AgentT, stub_for
from agents.actor.registry import AppRegistry
from agents.control.calls import ScheduledCalls
from agents.control.client import connect_temporal
from agents.control.queue import CallQueue
from agents.control.runs import RunService
from agents.control.schedules import ScheduleService
from agents.control.standalone import StandaloneRuns
from agents.core.ids import AgentId
from agents.core.keys import AgentKeys
from agents.core.messages import DESTROYED_CLOSE, close_envelope, envelope
from agents.core.metrics import Metrics
from agents.core.settings import Settings
from agents.store.connection import connect_redis, ready_redis
from agents.store.queries import RunQueries
from agents.store.state import StateStore
from agents.store.tracking import RunTracker, due_member, retention_key
from agents.store.turns import TurnService

log = structlog.get_logger("agents.lifecycle")


class AgentRuntime:
    """Holds the process's Redis and Temporal clients and the loaded app (agents,
    workflows, activities). Agents, the API and the bridge activities all go through it."""

    def __init__(
        self,
        *,
        redis: Redis,
        registry: AppRegistry,
        settings: Settings,
        temporal: Client | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.redis = redis
        self.registry = registry
        self.settings = settings
        self._temporal = temporal
        self.metrics = metrics or Metrics()
        self.store = StateStore(redis, prefix=settings.redis_key_prefix, wait_replicas=settings.redis_wait_replicas)
        self.tracker = RunTracker(redis)
        self.turns = TurnService(redis, lease=settings.agent_turn_lease, wait=settings.agent_turn_wait)
        self.queries = RunQueries(redis, self.tracker)
        self.runs = RunService(self)
        self.standalone = StandaloneRuns(self)
        self.schedules = ScheduleService(self)
        self.calls = ScheduledCalls(self)
        self.queue = CallQueue(self)
        self.activations = Activations()
        self.local_connections: Callable[[str], Iterable[Any]] = lambda channel: ()
        """The WebSocket clients this process holds on an agent's channel (`get_connections`):
        the API process sets it to its connection hub's; a worker holds none."""

    @property
    def temporal(self) -> Client:
        if self._temporal is None:
            raise RuntimeError("this AgentRuntime has no Temporal client; pass temporal=...")
        return self._temporal

    def agent(self, agent_type: str, name: str) -> Agent[Any]:
        """An Agent object for `(agent_type, name)`, state not read yet."""
        return self.registry.agent_class(agent_type)(name, runtime=self)

    async def get_agent(self, agent: type[AgentT] | str, name: str) -> AgentT:
        """An agent's stub, for code that is not an agent (a FastAPI route of yours, an
        activity, a script): see `Agent.get_agent`."""
        return stub_for(self.agent, agent, name)

    async def load_agent(self, agent_type: str, name: str) -> Agent[Any]:
        """An Agent object with its state read from Redis."""
        agent = self.agent(agent_type, name)
        await agent.refresh_state()
        return agent

    async def publish(
        self, keys: AgentKeys, message: Any, *, exclude: list[str] | None = None, tags: list[str] | None = None
    ) -> None:
        """Put `message` on the agent's shard channel (SPUBLISH: on a cluster it reaches the
        one shard that holds the agent); every API process relays it to its clients (with
        `tags`, to those with one of them)."""
        await self.redis.spublish(keys.channel, envelope(message, exclude=exclude, tags=tags))

    async def destroy(self, agent: AgentId) -> None:
        """Stop everything the agent runs on Temporal, close its clients and remove every key
        of it from Redis. Runs in the agent's turn, so no call of it runs meanwhile."""
        keys = agent.keys
        for call in await self.calls.list(agent):
            await self.calls.cancel(agent, call.id)
        for schedule_id in await self.redis.hkeys(keys.schedules):
            await self.schedules.delete(agent, schedule_id)
        temporal_ids = [self.queue.workflow_id(agent)]
        tracking_ids = []
        async for row in self.queries.all(keys):
            tracking_ids.append(row.workflow_id)
            if row.status in ("running", "waiting", "paused", "queued"):
                temporal_ids.append(row.temporal_workflow_id)
        for temporal_id in temporal_ids:
            try:
                await self.temporal.get_workflow_handle(temporal_id).terminate(reason="agent destroyed")
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise
        await self.redis.spublish(keys.channel, close_envelope(*DESTROYED_CLOSE))
        if tracking_ids:
            members = [due_member(keys, tracking_id) for tracking_id in tracking_ids]
            await self.redis.zrem(retention_key(self.settings.redis_key_prefix), *members)
        deleted = 0
        async for key in self.redis.scan_iter(match=keys.all_keys_pattern, count=500):
            # Not the turn this runs in: deleted mid-scan, it let a waiting call in while keys
            # were still being deleted (the call's writes among them). It ends with the turn.
            if key != keys.turn:
                deleted += await self.redis.unlink(key)
        self.activations.end(keys)
        log.info("agent destroyed", agent=f"{agent.agent_type}/{agent.name}", keys=deleted, stopped=len(temporal_ids))


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    metrics: Metrics | None = None,
    sdk_runtime: Runtime | None = None,
    temporal_interceptors: Sequence[Interceptor] = (),
) -> AsyncIterator[AgentRuntime]:
    """Connect Redis and Temporal and load `AGENT_MODULES`; Redis is closed on the way out.

    `sdk_runtime`: a Temporal SDK runtime of the process's own (the worker's serves metrics)."""
    redis = connect_redis(settings)
    try:
        await ready_redis(redis)
        temporal = await connect_temporal(settings, runtime=sdk_runtime, interceptors=temporal_interceptors)
        registry = AppRegistry.from_modules(settings.module_list)
        yield AgentRuntime(redis=redis, registry=registry, settings=settings, temporal=temporal, metrics=metrics)
    finally:
        await redis.aclose()


def exit_process(code: int = 0) -> NoReturn:
    """Leave once everything has shut down gracefully, without interpreter finalization:
    the Temporal SDK's native threads may still call into Python while it finalizes,
    which aborts the process (exit 134, seen in about 1 of 4 worker shutdowns)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
