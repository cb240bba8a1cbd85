"""`Agent`: a named, long-lived identity `(agent type, name)` whose state lives in Redis.

An Agent object is cheap: any process (API or worker) makes one to act for the agent,
with the state read from Redis. There is no home process; correctness comes from
Redis (atomic state writes, a per-agent lock for methods invoked from workflows).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from ._queries import RunFilter, WorkflowPage
from ._state import StateSnapshot, VersionConflict
from ._tracking import WorkflowInfo
from .errors import StateRejectedError, ValidationError

if TYPE_CHECKING:
    from ._runtime import AgentRuntime

State = TypeVar("State", bound=Mapping[str, Any])

SERVER = "server"
WORKFLOW = "workflow"


def kebab_case(name: str) -> str:
    """`TaskAgent` -> `task-agent`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def callable_method(fn: Any = None, *, streaming: bool = False) -> Any:
    """Mark an agent method as callable by clients (WebSocket RPC, HTTP `/rpc/{method}`)."""

    def mark(f: Any) -> Any:
        f.__agent_callable__ = {"streaming": streaming}
        return f

    return mark(fn) if fn is not None else mark


def callable_options(agent: Agent[Any], method: str) -> dict[str, Any] | None:
    """`{"streaming": bool}` if `method` is a `@callable_method` of this agent, else None."""
    fn = getattr(type(agent), method, None) if not method.startswith("_") else None
    return getattr(fn, "__agent_callable__", None)


class Agent(Generic[State]):
    """Subclass, set `initial_state`, add hooks and `@callable_method` methods."""

    agent_type: ClassVar[str]
    """URL name of the agent type: kebab-case of the class name unless given."""
    initial_state: ClassVar[dict[str, Any]] = {}
    """The state before anything was written."""

    def __init_subclass__(cls, *, agent_type: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.agent_type = agent_type or cls.__dict__.get("agent_type") or kebab_case(cls.__name__)

    def __init__(self, name: str, *, runtime: AgentRuntime, snapshot: StateSnapshot | None = None) -> None:
        self.name = name
        self.runtime = runtime
        self.keys = runtime.store.keys(self.agent_type, name)
        self._snapshot = snapshot or StateSnapshot(None, 0)

    @classmethod
    def overrides(cls, hook: str) -> bool:
        """Whether this agent type overrides base hook `hook` (unused hooks cost nothing)."""
        return getattr(cls, hook) is not getattr(Agent, hook)

    # ----- state -----

    @property
    def state(self) -> State:
        """The state as of the last read or write made through this object."""
        current = self._snapshot.state
        return current if current is not None else dict(self.initial_state)  # type: ignore[return-value]

    @property
    def state_version(self) -> int:
        return self._snapshot.version

    @property
    def state_is_set(self) -> bool:
        return self._snapshot.state is not None

    async def refresh_state(self) -> State:
        self._snapshot = await self.runtime.store.read(self.keys)
        return self.state

    async def set_state(self, state: State, *, source: Any = SERVER) -> State:
        """Replace the state, persist it and broadcast it to every client but `source`."""
        return await self._write("set", _as_object(state), source=source)

    async def merge_state(self, partial: Mapping[str, Any], *, source: Any = SERVER) -> State:
        """Shallow-merge `partial` into the state (atomic against concurrent writers)."""
        return await self._write("merge", _as_object(partial), source=source)

    async def reset_state(self, *, source: Any = SERVER) -> State:
        return await self._write("set", dict(self.initial_state), source=source)

    async def _write(
        self, mode: str, values: dict[str, Any], *, source: Any, effect_id: str | None = None
    ) -> State:
        store = self.runtime.store
        exclude = [source] if isinstance(source, str) and source not in (SERVER, WORKFLOW) else []
        if not self.overrides("validate_state_change"):
            result = await store.write(
                self.keys, mode=mode, values=values, initial=self.initial_state,
                exclude=exclude, effect_id=effect_id,
            )
        else:
            # A validator needs the whole next state: read, validate, write if unchanged.
            while True:
                snap = await store.read(self.keys)
                current = snap.state if snap.state is not None else dict(self.initial_state)
                proposed = values if mode == "set" else {**current, **values}
                try:
                    self.validate_state_change(proposed, source)  # type: ignore[arg-type]
                except Exception as err:
                    raise StateRejectedError(str(err) or "state change rejected") from err
                try:
                    result = await store.write(
                        self.keys, mode="set", values=proposed, initial=self.initial_state,
                        exclude=exclude, effect_id=effect_id, expected_version=snap.version,
                    )
                    break
                except VersionConflict:
                    continue
        self._snapshot = StateSnapshot(result.state, result.version)
        if result.applied and self.overrides("on_state_update"):
            await maybe_await(self.on_state_update(self.state, source))
        return self.state

    # ----- hooks (override) -----

    def validate_state_change(self, state: State, source: Any) -> None:
        """Raise to reject a state change; the message reaches the client."""

    async def on_state_update(self, state: State, source: Any) -> None:
        """Called after a state change was persisted (in the process that made it)."""

    async def on_workflow_progress(self, workflow_name: str, workflow_id: str, progress: Any) -> None:
        """A run reported progress (non-durable: may repeat)."""

    async def on_workflow_complete(self, workflow_name: str, workflow_id: str, result: Any) -> None:
        """A run finished with `result`."""

    async def on_workflow_error(self, workflow_name: str, workflow_id: str, error: dict[str, str]) -> None:
        """A run failed; `error` is `{name, message}`."""

    async def on_workflow_event(self, workflow_name: str, workflow_id: str, event: Any) -> None:
        """A run sent an event with `step.send_event`."""

    # ----- clients -----

    async def on_connect(self, connection: Any) -> None:
        """A WebSocket client connected (before it gets identity and state); raise to refuse it
        (closed with 1008). `connection.principal` is who authenticated, if auth is on."""

    async def on_request(self, request: Any) -> None:
        """An HTTP request reached one of this agent's routes, after authentication; raise
        to refuse it (an AgentError keeps its status, anything else answers 403).
        `request.state.principal` is who authenticated."""

    async def on_message(self, connection: Any, message: Any) -> None:
        """A client sent a JSON frame that is neither a state change nor an RPC."""

    async def on_close(self, connection: Any) -> None:
        """A WebSocket client went away."""

    async def broadcast(self, message: Any, *, exclude: list[str] | None = None) -> None:
        """Send `message` to every WebSocket client of this agent, on any API process."""
        await self.runtime.publish(self.keys, message, exclude=exclude)

    # ----- workflows -----

    async def run_workflow(
        self,
        name: str,
        params: Any = None,
        *,
        id: str | None = None,
        metadata: dict[str, Any] | None = None,
        retention: Any = None,
    ) -> str:
        """Validate `params`, start the run on Temporal and track it; return its id
        (`wf_<random>` unless given)."""
        info = await self.runtime.runs.start(self, name, params, id=id, metadata=metadata, retention=retention)
        return info.id

    async def send_workflow_event(self, workflow_id: str, type: str, payload: Any = None) -> None:
        await self.runtime.runs.signal_event(self, workflow_id, type, payload)

    async def deliver_event(self, workflow: str, key: str, *, type: str = "event", payload: Any = None,
                            params: Any = None) -> tuple[str, bool]:  # fmt: skip
        """Send an event to the run of `workflow` for `key`, starting one (with `params`)
        if none is running; returns (run id, started)."""
        return await self.runtime.runs.deliver(self, workflow, key, type=type, payload=payload, params=params)

    async def schedule_workflow(
        self,
        name: str,
        params: Any = None,
        *,
        cron: str | None = None,
        every: Any = None,
        at: datetime | str | None = None,
        id: str | None = None,
        metadata: dict[str, Any] | None = None,
        overlap: str = "skip",
    ) -> str:
        """Run `name` on a Temporal Schedule (exactly one of `cron`, `every` like
        "5 minutes", or `at` once); every run it starts is tracked by this agent with
        `metadata.schedule`. `overlap`: skip, buffer_one, buffer_all, cancel_other,
        terminate_other or allow_all. Returns the schedule id."""
        return await self.runtime.schedules.create(self, name, params, cron=cron, every=every, at=at, id=id,
                                                   metadata=metadata, overlap=overlap)  # fmt: skip

    async def get_schedules(self) -> list[dict[str, Any]]:
        return await self.runtime.schedules.list(self)

    async def pause_schedule(self, schedule_id: str) -> dict[str, Any]:
        return await self.runtime.schedules.pause(self, schedule_id)

    async def resume_schedule(self, schedule_id: str) -> dict[str, Any]:
        return await self.runtime.schedules.resume(self, schedule_id)

    async def trigger_schedule(self, schedule_id: str) -> None:
        """Start a run of the schedule now."""
        await self.runtime.schedules.trigger(self, schedule_id)

    async def delete_schedule(self, schedule_id: str) -> None:
        await self.runtime.schedules.delete(self, schedule_id)

    async def approve_workflow(
        self, workflow_id: str, reason: str | None = None, metadata: Any = None
    ) -> None:
        await self.send_workflow_event(
            workflow_id, "approval", {"approved": True, "reason": reason, "metadata": metadata}
        )

    async def reject_workflow(self, workflow_id: str, reason: str | None = None) -> None:
        await self.send_workflow_event(
            workflow_id, "approval", {"approved": False, "reason": reason, "metadata": None}
        )

    async def pause_workflow(self, workflow_id: str) -> WorkflowInfo:
        """No new step starts until resumed (a step already running may finish)."""
        return await self.runtime.runs.pause(self, workflow_id)

    async def resume_workflow(self, workflow_id: str) -> WorkflowInfo:
        return await self.runtime.runs.resume(self, workflow_id)

    async def terminate_workflow(self, workflow_id: str, reason: str | None = None) -> WorkflowInfo:
        return await self.runtime.runs.terminate(self, workflow_id, reason)

    async def restart_workflow(self, workflow_id: str, *, reset_tracking: bool = True) -> WorkflowInfo:
        """Run again from the beginning with the same params."""
        return await self.runtime.runs.restart(self, workflow_id, reset_tracking=reset_tracking)

    async def get_workflow(self, workflow_id: str) -> WorkflowInfo | None:
        return await self.runtime.runs.get(self, workflow_id)

    async def get_workflows(
        self,
        status: str | list[str] | None = None,
        workflow_name: str | None = None,
        metadata: dict[str, Any] | None = None,
        limit: int = 50,
        order: str = "desc",
        cursor: str | None = None,
    ) -> WorkflowPage:
        """A page of this agent's runs, newest first unless `order="asc"`; pass
        `next_cursor` back as `cursor` for the next page. `total` ignores limit and cursor."""
        flt = RunFilter.build(status, workflow_name, metadata)
        return await self.runtime.queries.page(self.keys, flt, limit=limit, order=order, cursor=cursor)

    async def delete_workflow(self, workflow_id: str) -> bool:
        """Forget a run's tracking (the Temporal run, if still going, is not touched)."""
        return await self.runtime.tracker.delete(self.keys, workflow_id)

    async def delete_workflows(
        self,
        status: str | list[str] | None = None,
        workflow_name: str | None = None,
        metadata: dict[str, Any] | None = None,
        created_before: int | datetime | None = None,
    ) -> int:
        """Forget every run matching all the criteria; returns how many."""
        if isinstance(created_before, datetime):
            created_before = int(created_before.timestamp() * 1000)
        flt = RunFilter.build(status, workflow_name, metadata)
        return await self.runtime.queries.delete(self.keys, flt, created_before=created_before)


def _as_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"state must be a JSON object, got {type(value).__name__}")
    return dict(value)


async def maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
