"""`AgentRuntime`: what one process (API or worker) needs to act for any agent."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from temporalio.client import Client

from ._agent import Agent
from ._calls import ScheduledCalls
from ._keys import AgentKeys
from ._lifecycle import Activations
from ._messages import envelope
from ._metrics import Metrics
from ._queries import RunQueries
from ._queue import CallQueue
from ._registry import AppRegistry
from ._runs import RunService
from ._schedules import ScheduleService
from ._standalone import StandaloneRuns
from ._state import StateStore
from ._tracking import RunTracker
from ._turns import TurnService
from .settings import Settings


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

    @property
    def temporal(self) -> Client:
        if self._temporal is None:
            raise RuntimeError("this AgentRuntime has no Temporal client; pass temporal=...")
        return self._temporal

    def agent(self, agent_type: str, name: str) -> Agent[Any]:
        """An Agent object for `(agent_type, name)`, state not read yet."""
        return self.registry.agent_class(agent_type)(name, runtime=self)

    async def load_agent(self, agent_type: str, name: str) -> Agent[Any]:
        """An Agent object with its state read from Redis."""
        agent = self.agent(agent_type, name)
        await agent.refresh_state()
        return agent

    async def publish(self, keys: AgentKeys, message: Any, *, exclude: list[str] | None = None) -> None:
        """Put `message` on the agent's shard channel (SPUBLISH: on a cluster it reaches the
        one shard that holds the agent); every API process relays it to its clients."""
        await self.redis.spublish(keys.channel, envelope(message, exclude=exclude))
