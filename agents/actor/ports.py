"""What an `Agent` needs of its process, as Protocols: `AgentRuntime` (`agents.runtime`)
is one. The actor does not import the control services or the runtime, even for typing:
following an approval from `Agent.approve_workflow` leads here, to `RunControl.signal_event`,
and the one class that has it is `agents.control.runs.RunService`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from agents.actor.activation import Activations
    from agents.core.ids import AgentId
    from agents.core.keys import AgentKeys
    from agents.core.records import QueuedCall, ScheduledCall, ScheduleInfo
    from agents.store.queries import RunQueries
    from agents.store.state import StateStore
    from agents.store.tracking import RunTracker, WorkflowBatch, WorkflowInfo
    from agents.store.turns import TurnService


class RunControl(Protocol):
    """Runs on Temporal, tracked in Redis (`agents.control.runs.RunService`)."""

    async def start(
        self,
        agent: AgentId,
        name: str,
        params: Any,
        *,
        id: str | None = None,
        metadata: dict[str, Any] | None = None,
        retention: Any = None,
    ) -> WorkflowInfo: ...

    async def start_batch(
        self,
        agent: AgentId,
        name: str,
        *,
        count: int | None = None,
        params: Any = None,
        instances: list[dict[str, Any]] | None = None,
    ) -> WorkflowBatch: ...

    async def forget_on_temporal(self, info: WorkflowInfo) -> int: ...

    async def signal_event(self, agent: AgentId, tracking_id: str, type: str, payload: Any) -> None: ...

    async def deliver(
        self, agent: AgentId, workflow: str, key: str, *, type: str, payload: Any, params: Any = None
    ) -> tuple[str, bool]: ...

    async def get(self, agent: AgentId, tracking_id: str, *, reconcile: bool = True) -> WorkflowInfo | None: ...

    async def pause(self, agent: AgentId, tracking_id: str) -> WorkflowInfo: ...

    async def resume(self, agent: AgentId, tracking_id: str) -> WorkflowInfo: ...

    async def terminate(
        self, agent: AgentId, tracking_id: str, reason: str | None = None, *, rollback: bool = False
    ) -> WorkflowInfo: ...

    async def restart(
        self, agent: AgentId, tracking_id: str, *, reset_tracking: bool = True, from_step: str | None = None
    ) -> WorkflowInfo: ...


class ScheduleControl(Protocol):
    """Temporal Schedules of workflows (`agents.control.schedules.ScheduleService`)."""

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
    ) -> str: ...

    async def get(self, agent: AgentId, schedule_id: str) -> ScheduleInfo: ...

    async def list(self, agent: AgentId) -> list[ScheduleInfo]: ...

    async def pause(self, agent: AgentId, schedule_id: str) -> ScheduleInfo: ...

    async def resume(self, agent: AgentId, schedule_id: str) -> ScheduleInfo: ...

    async def trigger(self, agent: AgentId, schedule_id: str) -> None: ...

    async def delete(self, agent: AgentId, schedule_id: str) -> None: ...


class CallControl(Protocol):
    """Scheduled method calls (`agents.control.calls.ScheduledCalls`)."""

    async def create(
        self, agent: AgentId, when: Any, method: str, payload: Any, *, id: str | None, attempts: int, every: Any
    ) -> ScheduledCall: ...

    async def get(self, agent: AgentId, call_id: str) -> ScheduledCall | None: ...

    async def list(
        self, agent: AgentId, *, type: str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> list[ScheduledCall]: ...

    async def cancel(self, agent: AgentId, call_id: str) -> bool: ...


class QueueControl(Protocol):
    """The agent's queue of method calls (`agents.control.queue.CallQueue`)."""

    async def push(self, agent: AgentId, method: str, payload: Any, *, attempts: int = 5) -> str: ...

    async def list(self, agent: AgentId) -> list[QueuedCall]: ...

    async def get(self, agent: AgentId, call_id: str) -> QueuedCall | None: ...

    async def remove(self, agent: AgentId, call_id: str) -> bool: ...

    async def clear(self, agent: AgentId) -> int: ...


class AgentServices(Protocol):
    """The process an Agent acts in: its stores (Redis), its controls (Temporal)."""

    redis: Redis
    store: StateStore
    turns: TurnService
    tracker: RunTracker
    queries: RunQueries
    activations: Activations
    runs: RunControl
    schedules: ScheduleControl
    calls: CallControl
    queue: QueueControl

    async def publish(self, keys: AgentKeys, message: Any, *, exclude: list[str] | None = None) -> None: ...

    async def destroy(self, agent: AgentId) -> None: ...

    def agent(self, agent_type: str, name: str) -> Any:
        """An Agent object for `(agent_type, name)` (typed Any: this module is what
        `agents.actor.agent` imports, so it does not import it back)."""
