"""What the control services use of their process, as Protocols: `AgentRuntime`
(`agents.runtime`) is one, and nothing here imports it, so the services' imports run one
way. The loop in the logic is stated here rather than hidden in an import: a run's
reconcile may continue it on new code, which starts a run (`ContinuesRuns`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from temporalio.client import Client, WorkflowHandle

    from agents.actor.agent import Agent
    from agents.actor.registry import AppRegistry
    from agents.core.ids import AgentId
    from agents.core.keys import AgentKeys
    from agents.core.metrics import Metrics
    from agents.core.settings import Settings
    from agents.store.state import StateStore
    from agents.store.tracking import RunTracker, WorkflowInfo


class ContinuesRuns(Protocol):
    """The part of `RunService` the other services call."""

    async def start_continuation(
        self, agent: AgentId, info: WorkflowInfo, carried: dict[str, Any], *, reason: str
    ) -> WorkflowHandle[Any, Any]: ...

    def validate_params(self, workflow_name: str, params: Any) -> dict[str, Any]: ...


@runtime_checkable
class EndsTurnsOfGoneWorkflows(Protocol):
    """An agent that records a turn in progress per workflow it starts outside the run
    tracker (a chat agent's turns): the reconciler tells it of such a workflow that
    ended without ending its turn (terminated, cancelled or failed in Temporal)."""

    async def end_turn_of(self, workflow_id: str) -> bool: ...


class ControlRuntime(Protocol):
    """The process's clients and loaded app, as the control services see them."""

    redis: Redis
    settings: Settings
    metrics: Metrics
    registry: AppRegistry
    tracker: RunTracker
    store: StateStore

    @property
    def temporal(self) -> Client: ...

    @property
    def runs(self) -> ContinuesRuns: ...

    def agent(self, agent_type: str, name: str) -> Agent[Any]: ...

    async def publish(self, keys: AgentKeys, message: Any, *, exclude: list[str] | None = None) -> None: ...
