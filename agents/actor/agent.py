"""`Agent`: a named, long-lived identity `(agent type, name)` whose state lives in Redis.

An Agent object is cheap: any process (API or worker) makes one to act for the agent,
with the state read from Redis. There is no home process; the agent still behaves as one
actor: every entry into its code runs in the agent's turn (`_turns`), one at a time
across all processes, with the state read as the turn begins.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import re
import typing
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

import structlog

from agents.core.errors import ConflictError, NotFoundError, StateRejectedError, ValidationError
from agents.core.payloads import check_json, to_json_value
from agents.core.records import RetryOptions, retry_options
from agents.core.tracing import agent_attributes, tracer
from agents.store.queries import RunFilter, WorkflowPage
from agents.store.state import StateSnapshot, TurnBusy, WriteMode
from agents.store.tracking import WorkflowBatch, WorkflowInfo

if TYPE_CHECKING:
    from agents.actor.ports import AgentServices
    from agents.core.records import QueuedCall, ScheduledCall, ScheduleInfo

State = TypeVar("State", bound=Mapping[str, Any])
AgentT = TypeVar("AgentT", bound="Agent[Any]")

log = structlog.get_logger("agents.agent")

SERVER = "server"
WORKFLOW = "workflow"


def kebab_case(name: str) -> str:
    """The URL name Cloudflare's client derives from a class name (its
    `camelCaseToKebabCase`), so `new AgentClient({agent: "TaskAgent"})` finds the agent:
    `TaskAgent` -> `task-agent`, `MY_AGENT` -> `my-agent`, `task_agent` -> `task-agent`,
    `HTTPAgent` -> `h-t-t-p-agent` (each capital, as Cloudflare does)."""
    if name == name.upper() and name != name.lower():  # all capitals: SNAKE_CASE
        return name.lower().replace("_", "-")
    kebab = re.sub(r"[A-Z]", lambda m: "-" + m.group(0).lower(), name).removeprefix("-")
    return kebab.replace("_", "-").removesuffix("-")


def callable_method(fn: Any = None, *, streaming: bool = False, interleave: bool = False) -> Any:
    """Mark an agent method as callable by clients (WebSocket RPC, HTTP `/rpc/{method}`).

    `streaming`: the method takes a stream first and sends chunks on it.
    `interleave`: the method runs outside the agent's turn (see `interleave`)."""

    def mark(f: Any) -> Any:
        f.__agent_callable__ = {"streaming": streaming}
        if interleave:
            f.__agent_interleave__ = True
        return f

    return mark(fn) if fn is not None else mark


def interleave(fn: Any) -> Any:
    """Run this agent method without taking the agent's turn (Orleans' AlwaysInterleave).

    For a long call (an LLM or HTTP request) that must not hold up the agent's other
    callers. What it gives up: other calls run while it awaits, so `self.state` is only
    the state as of its start, and a read-modify-write across an await can lose another
    call's update. Each `set_state` / `merge_state` it makes is still atomic (it waits for
    a moment between turns); use `merge_state`, or `async with self.turn():` around a
    read-modify-write, to keep updates."""
    fn.__agent_interleave__ = True
    return fn


def interleaves(fn: Any) -> bool:
    return bool(getattr(fn, "__agent_interleave__", False))


def callable_options(agent: Agent[Any], method: str) -> dict[str, Any] | None:
    """`{"streaming": bool}` if `method` is a `@callable_method` of this agent, else None."""
    fn = getattr(type(agent), method, None) if not method.startswith("_") else None
    return getattr(fn, "__agent_callable__", None)


def callback_name(agent: Agent[Any], callback: Any) -> str:
    """The method name of `callback` (a name or a bound method of the agent), checked:
    a public method of the agent's own class, not one of the framework's."""
    name = getattr(callback, "__name__", callback)
    if not isinstance(name, str) or name.startswith("_") or not callable(getattr(type(agent), name, None)):
        raise ValidationError(f"{type(agent).__name__} has no method {name!r} to call")
    if hasattr(Agent, name):
        raise ValidationError(f"{name!r} is a framework method; schedule a method of your own agent class")
    return name


class Agent(Generic[State]):
    """Subclass, set `initial_state`, add hooks and `@callable_method` methods."""

    __agent_base__: ClassVar[bool] = True
    """Set in the class body of a framework base (`Agent`, `ChatAgent`): not an agent type of
    an app, though a module that imports it has it among its names."""

    agent_type: ClassVar[str]
    """URL name of the agent type: kebab-case of the class name unless given."""
    initial_state: ClassVar[dict[str, Any]] = {}
    """The state before anything was written."""

    def __init_subclass__(cls, *, agent_type: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.agent_type = agent_type or cls.__dict__.get("agent_type") or kebab_case(cls.__name__)

    def __init__(self, name: str, *, runtime: AgentServices, snapshot: StateSnapshot | None = None) -> None:
        self.name = name
        self.runtime = runtime
        self.keys = runtime.store.keys(self.agent_type, name)
        self._snapshot = snapshot or StateSnapshot(None, 0)
        self._read_in_turn: str | None = None  # token of the turn this object's state is current in

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
        """Bumped by every write: what clients compare to skip stale snapshots."""
        return self._snapshot.version

    @property
    def state_is_set(self) -> bool:
        """Whether the state was ever written (else `state` is `initial_state`)."""
        return self._snapshot.state is not None

    async def refresh_state(self) -> State:
        """Read the state from Redis (a turn reads it for you as it begins)."""
        self._snapshot = await self.runtime.store.read(self.keys)
        return self.state

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold this agent's turn for the block: no other call of this agent, in any
        process, runs meanwhile, and `self.state` is read fresh as the turn begins.

        The framework does this around every call into the agent; use it yourself in
        an `@interleave` method around a read-modify-write. Re-entrant within one call.
        Raises AgentBusyError (503) when the turn cannot be had within AGENT_TURN_WAIT."""
        outermost = self.runtime.turns.current(self.keys) is None
        async with self.runtime.turns.hold(self.keys) as turn:
            await self._current_in(turn.token, turn.snapshot)
            if outermost:
                await self._activate(turn.snapshot.born if turn.snapshot else "")
            yield

    async def _activate(self, born: str) -> None:
        """Run `on_start` if this call begins the agent's activation in this process: its
        first call here, the first after ACTIVATION_IDLE, or the first since the agent was
        destroyed through any process (`born` changed; see Activations)."""
        activations = self.runtime.activations
        if not self.overrides("on_start"):
            activations.begins(self.keys)
            return
        if activations.begins(self.keys, born):
            try:
                await self.on_start()
            except BaseException:
                activations.end(self.keys)  # the next call tries again
                raise
            if not born:  # the first activation of this incarnation marks it
                born = await self.runtime.store.mark_born(self.keys)
                activations.mark(self.keys, born)

    async def _current_in(self, token: str, snapshot: StateSnapshot | None = None) -> None:
        """Make `self.state` current within the turn `token` (no read if it already is)."""
        if snapshot is not None:
            self._snapshot = snapshot
        elif self._read_in_turn != token:  # another object of this agent took the turn
            await self.refresh_state()
        self._read_in_turn = token

    async def set_state(self, state: State, *, source: Any = SERVER) -> State:
        """Replace the state, persist it and broadcast it to every client but `source`.

        `source` is what `validate_state_change` / `on_state_update` receive: `"server"`
        (agent code, HTTP), `"workflow"` (a run's step), or the `Connection` of the
        WebSocket client that sent it (Cloudflare's `Connection | "server"`). A client
        cannot pass for the server: its source is always its Connection object."""
        return await self._write("set", _as_object(state), source=source)

    async def merge_state(self, partial: Mapping[str, Any], *, source: Any = SERVER) -> State:
        """Shallow-merge `partial` into the state (atomic against concurrent writers)."""
        return await self._write("merge", _as_object(partial), source=source)

    async def reset_state(self, *, source: Any = SERVER) -> State:
        """Put the state back to `initial_state` (persisted and broadcast)."""
        return await self._write("set", dict(self.initial_state), source=source)

    async def _write(
        self, mode: WriteMode, values: dict[str, Any], *, source: Any, effect_id: str | None = None
    ) -> State:
        check_json(values, what="state")
        turn = self.runtime.turns.current(self.keys)
        hooked = self.overrides("validate_state_change") or self.overrides("on_state_update")
        if turn is None and not hooked:
            try:  # no agent code runs: one atomic step, unless a turn is held or waited for
                return await self._apply(mode, values, source=source, effect_id=effect_id, token=None)
            except TurnBusy:
                pass
        if turn is None:
            async with self.turn():
                return await self._write(mode, values, source=source, effect_id=effect_id)
        if self.overrides("validate_state_change"):
            await self._current_in(turn.token)
            proposed = values if mode == "set" else {**self.state, **values}
            try:
                self.validate_state_change(proposed, source)  # type: ignore[arg-type]
            except Exception as err:
                raise StateRejectedError(str(err) or "state change rejected") from err
        return await self._apply(mode, values, source=source, effect_id=effect_id, token=turn.token)

    async def _apply(
        self, mode: WriteMode, values: dict[str, Any], *, source: Any, effect_id: str | None, token: str | None
    ) -> State:
        client_id = getattr(source, "id", None)  # a client's own change is not echoed back to it
        exclude = [client_id] if isinstance(client_id, str) and not isinstance(source, str) else []
        result = await self.runtime.store.write(
            self.keys,
            mode=mode,
            values=values,
            initial=self.initial_state,
            exclude=exclude,
            effect_id=effect_id,
            turn_token=token,
        )
        self._snapshot = StateSnapshot(result.state, result.version)
        if result.applied and self.overrides("on_state_update"):
            await maybe_await(self.on_state_update(self.state, source))
        return self.state

    # ----- hooks (override) -----

    async def on_start(self) -> None:
        """The agent begins work in this process (Cloudflare's `onStart`): once per
        activation, in its turn, before the first call the process makes into it. An
        activation ends after 5 idle minutes or at `destroy()`, and each API or worker
        process has its own, so make it idempotent (as on Cloudflare, where it runs on
        every wake). If it raises, the call fails and the next call runs it again."""

    def validate_state_change(self, state: State, source: Any) -> None:
        """Raise to reject a state change; the message reaches the client. `source`:
        `"server"`, `"workflow"` or the client's `Connection` (see `set_state`)."""

    async def on_state_update(self, state: State, source: Any) -> None:
        """Called after a state change was persisted (in the process that made it)."""

    async def on_workflow_callback(self, callback: WorkflowCallback) -> None:
        """Every callback of a run, whatever its kind (Cloudflare's `onWorkflowCallback`);
        by default it calls the hook of that kind below. Override it to see them all."""
        if callback.type == "progress":
            await self.on_workflow_progress(callback.workflow_name, callback.workflow_id, callback.progress)
        elif callback.type == "complete":
            await self.on_workflow_complete(callback.workflow_name, callback.workflow_id, callback.result)
        elif callback.type == "error":
            error = callback.error or {}
            # Cloudflare's hook takes the message as a string: an override that says
            # `error: str` gets that, one that says nothing or `dict` gets {name, message}.
            wants_text = _annotation(type(self).on_workflow_error, "error") in (str, "str")
            await self.on_workflow_error(
                callback.workflow_name, callback.workflow_id, error.get("message", "") if wants_text else error
            )
        elif callback.type == "event":
            await self.on_workflow_event(callback.workflow_name, callback.workflow_id, callback.event)

    async def on_workflow_progress(self, workflow_name: str, workflow_id: str, progress: Any) -> None:
        """A run reported progress (non-durable: may repeat)."""

    async def on_workflow_complete(self, workflow_name: str, workflow_id: str, result: Any) -> None:
        """A run finished with `result`."""

    async def on_workflow_error(self, workflow_name: str, workflow_id: str, error: dict[str, str]) -> None:
        """A run failed; `error` is `{name, message}` (or the message alone, as on
        Cloudflare, when an override annotates `error: str`). By default: logged."""
        log.warning(
            "workflow failed",
            agent=f"{self.agent_type}/{self.name}",
            workflow=workflow_name,
            workflow_id=workflow_id,
            error=error,
        )

    async def on_workflow_event(self, workflow_name: str, workflow_id: str, event: Any) -> None:
        """A run sent an event with `step.send_event`."""

    # ----- clients -----

    async def on_connect(self, connection: Any) -> None:
        """A WebSocket client connected (before it gets identity and state); raise to refuse it
        (closed with 1008). `connection.principal` is who authenticated, if auth is on."""

    @classmethod
    async def on_before_connect(cls, request: Any, name: str) -> Any:
        """Cloudflare's `onBeforeConnect`: before a WebSocket client connects to agent
        `name` of this type, outside any turn, nothing read yet (`request`: a Starlette
        `HTTPConnection`: headers, query, `state.principal`). Return a Starlette `Response`
        to refuse it (the client is closed with 1008, the response's status and body as
        the reason, as authentication refusals are); None to let it connect."""
        return None

    @classmethod
    async def on_before_request(cls, request: Any, name: str) -> Any:
        """Cloudflare's `onBeforeRequest`: before an HTTP request to agent `name` of this
        type is routed (any route under `{AGENTS_PREFIX}/{agent}/{name}`, after
        authentication), outside any turn, nothing read yet. Return a Starlette
        `Response` to answer with it instead (a 403, a 429 of yours); None to go on.
        For checks that need no state (`authorize_request` runs in the turn)."""
        return None

    async def get_connection_tags(self, connection: Any, ctx: Any) -> list[str]:
        """Tags for a WebSocket client as it connects (Cloudflare's `getConnectionTags`):
        at most 9 strings; `broadcast(tags=...)` and `get_connections(tag)` pick clients
        by them. Runs before the client joins the agent's broadcasts, outside the turn,
        with the agent's state not read: from the connection (`id`, `query`,
        `principal`) and `ctx.request` (the socket's `HTTPConnection`: headers, URL)."""
        return []

    async def on_error(self, connection: Any, error: BaseException) -> None:
        """A hook of a WebSocket client's (`on_connect`, `on_message`) raised `error`
        (Cloudflare's `onError(connection, error)`), in the agent's turn. By default it is
        logged; the client is told as before (`on_message`: an error frame; `on_connect`:
        closed, 1008)."""
        log.warning("connection hook failed", connection=connection.id, error=repr(error))

    async def authorize_request(self, request: Any) -> None:
        """Every HTTP request to one of this agent's routes comes here first, after
        authentication; raise to refuse it (an AgentError keeps its status, anything else
        answers 403). `request.state.principal` is who authenticated."""

    async def on_request(self, request: Any) -> Any:
        """Any request under `/agents/{agent}/{name}/` that no framework route takes (any
        method, any sub-path: webhooks, custom endpoints) comes here, in the agent's turn;
        return a Starlette/FastAPI `Response` (a `StreamingResponse` too: its body is sent
        after the turn ends). By default: 404."""
        raise NotFoundError(f"{self.agent_type} has no route {request.url.path!r} (override on_request to add one)")

    async def on_message(self, connection: Any, message: Any) -> None:
        """A client sent a JSON frame that is neither a state change nor an RPC."""

    async def on_close(self, connection: Any) -> None:
        """A WebSocket client went away."""

    async def broadcast(self, message: Any, *, exclude: list[str] | None = None, tags: list[str] | None = None) -> None:
        """Send `message` to every WebSocket client of this agent, on any API process (with
        `tags`, to the clients with one of those tags: see `get_connection_tags`), except
        the connection ids in `exclude`; ValidationError (nothing sent) for a message JSON
        cannot carry (NaN included)."""
        if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
            raise ValidationError("tags is a list of strings")
        value = to_json_value(message, what="broadcast message")
        await self.runtime.publish(self.keys, value, exclude=exclude, tags=tags)

    def get_connections(self, tag: str | None = None) -> list[Any]:
        """This agent's WebSocket clients held by this process (with `tag`, those with
        it), as `Connection`s: Cloudflare's `getConnections(tag)`. An agent's clients may
        be spread over several API processes; `broadcast(tags=...)` reaches them all."""
        held = self.runtime.local_connections(self.keys.channel)
        return [c for c in held if tag is None or tag in c.tags]

    def get_connection(self, connection_id: str) -> Any:
        """One of this agent's clients held by this process, by id, or None."""
        return next((c for c in self.runtime.local_connections(self.keys.channel) if c.id == connection_id), None)

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
        info = await self.start_tracked_run(name, params, id=id, metadata=metadata, retention=retention)
        return info.workflow_id

    async def start_tracked_run(
        self,
        name: str,
        params: Any = None,
        *,
        id: str | None = None,
        metadata: dict[str, Any] | None = None,
        retention: Any = None,
    ) -> WorkflowInfo:
        """`run_workflow`, returning the run's tracked row as it is right after the start."""
        return await self.runtime.runs.start(self, name, params, id=id, metadata=metadata, retention=retention)

    async def create_workflow_batch(
        self,
        workflow_name: str,
        *,
        count: int | None = None,
        params: Any = None,
        instances: list[dict[str, Any]] | None = None,
    ) -> WorkflowBatch:
        """Start up to 100 runs of `workflow_name` in one call (Cloudflare's `createBatch`):
        `count` runs with the same `params`, or `instances` (each a mapping of `params`, and
        optionally `id`, `metadata`, `retention`). A run that cannot start (bad params, an
        id taken) is listed in `errors` by its index and the others start; a batch that
        asks for neither or for too many is refused whole (ValidationError)."""
        return await self.runtime.runs.start_batch(self, workflow_name, count=count, params=params, instances=instances)

    async def send_workflow_event(self, workflow_id: str, type: str | Mapping[str, Any], payload: Any = None) -> None:
        """Deliver an event of `type` to a run this agent started (kept until a wait takes
        it); ConflictError once the run has finished. Cloudflare's shape works too:
        `send_workflow_event(workflow_id, {"type": ..., "payload": ...})`."""
        if isinstance(type, Mapping):
            if not isinstance(type.get("type"), str) or set(type) - {"type", "payload"}:
                raise ValidationError('an event as a mapping is {"type": <string>, "payload": <any>}')
            type, payload = type["type"], type.get("payload")
        await self.runtime.runs.signal_event(self, workflow_id, type, payload)

    async def deliver_event(
        self, workflow: str, key: str, *, type: str = "event", payload: Any = None, params: Any = None
    ) -> tuple[str, bool]:
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
        return await self.runtime.schedules.create(
            self, name, params, cron=cron, every=every, at=at, id=id, metadata=metadata, overlap=overlap
        )

    async def get_workflow_schedule(self, schedule_id: str) -> ScheduleInfo:
        """One of this agent's workflow schedules (NotFoundError if it has none of that id)."""
        return await self.runtime.schedules.get(self, schedule_id)

    async def get_workflow_schedules(self) -> list[ScheduleInfo]:
        """This agent's workflow schedules, with their next times and how many runs each
        started (`get_schedules` lists scheduled method calls, as on Cloudflare)."""
        return await self.runtime.schedules.list(self)

    async def pause_schedule(self, schedule_id: str) -> ScheduleInfo:
        """Stop a schedule from starting runs until resumed."""
        return await self.runtime.schedules.pause(self, schedule_id)

    async def resume_schedule(self, schedule_id: str) -> ScheduleInfo:
        """Let a paused schedule start runs again."""
        return await self.runtime.schedules.resume(self, schedule_id)

    async def trigger_schedule(self, schedule_id: str) -> None:
        """Start a run of the schedule now."""
        await self.runtime.schedules.trigger(self, schedule_id)

    async def delete_schedule(self, schedule_id: str) -> None:
        """Remove a schedule (runs it started go on)."""
        await self.runtime.schedules.delete(self, schedule_id)

    # ----- scheduled and queued method calls, lifecycle -----

    async def schedule(
        self,
        when: Any,
        callback: Any,
        payload: Any = None,
        *,
        id: str | None = None,
        attempts: int | None = None,
        retry: RetryOptions | Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> ScheduledCall:
        """Call `callback` (a method name or `self.method`) with `payload` later: `when` is
        seconds from now, a timezone-aware datetime, or a cron string ("0 8 * * *"). The
        method runs in the agent's turn as `method(payload)` or `method(payload, call)`
        (the `ScheduledCall`, whose `id` serves for idempotence: a call runs at least
        once), and a failing call is tried `attempts` times (5) with backoff (1 s, doubling,
        at most a minute apart), then logged and given up; `retry` instead sets all three
        (`RetryOptions`, or a mapping as Cloudflare writes it: `{"max_attempts": 3,
        "base_delay": 0.1, "max_delay": 3}` or `{"maxAttempts": 3, "baseDelayMs": 100}`).
        Durable on Temporal (visible in Temporal UI). `idempotent=True`, as on
        Cloudflare (for `on_start`, which runs once per activation): the same callback,
        payload and timing schedule one call while it is pending; the pending one is returned."""
        options = retry_options(retry, attempts)
        return await self._schedule(when, None, callback, payload, id=id, retry=options, idempotent=idempotent)

    async def _schedule(
        self,
        when: Any,
        every: Any,
        callback: Any,
        payload: Any,
        *,
        id: str | None,
        retry: RetryOptions,
        idempotent: bool,
    ) -> ScheduledCall:
        method = callback_name(self, callback)
        if not idempotent:
            return await self.runtime.calls.create(self, when, method, payload, id=id, retry=retry, every=every)
        if id is not None:
            raise ValidationError("give either an id or idempotent=True (which derives the id)")
        timing = when.isoformat() if isinstance(when, datetime) else when
        key = json.dumps([method, payload, timing, every], sort_keys=True, default=str)
        id = "idem_" + hashlib.sha256(key.encode()).hexdigest()[:24]
        if (pending := await self.get_schedule(id)) is not None:
            return pending
        try:
            return await self.runtime.calls.create(self, when, method, payload, id=id, retry=retry, every=every)
        except ConflictError:  # another process scheduled it just now
            if (pending := await self.get_schedule(id)) is None:
                raise
            return pending

    async def schedule_every(
        self,
        seconds: float,
        callback: Any,
        payload: Any = None,
        *,
        id: str | None = None,
        attempts: int | None = None,
        retry: RetryOptions | Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> ScheduledCall:
        """Call `callback` every `seconds` (at least 1), the first time `seconds` from now;
        a call still running when the next is due makes that one skip. `attempts`, `retry`
        and `idempotent`: as for `schedule`."""
        options = retry_options(retry, attempts)
        return await self._schedule(None, seconds, callback, payload, id=id, retry=options, idempotent=idempotent)

    async def get_schedule(self, id: str) -> ScheduledCall | None:
        """One scheduled call, or None."""
        return await self.runtime.calls.get(self, id)

    async def get_schedules(
        self, *, type: str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> list[ScheduledCall]:
        """The pending scheduled calls, soonest first; `type` (scheduled, delayed, cron,
        interval) and a window [`start`, `end`] of their next time narrow the list."""
        return await self.runtime.calls.list(self, type=type, start=start, end=end)

    async def cancel_schedule(self, id: str) -> bool:
        """Cancel a scheduled call; False if there was none with that id."""
        return await self.runtime.calls.cancel(self, id)

    async def queue(
        self,
        callback: Any,
        payload: Any = None,
        *,
        attempts: int | None = None,
        retry: RetryOptions | Mapping[str, Any] | None = None,
    ) -> str:
        """Queue a call of `callback` with `payload`; returns its id. Queued calls run one
        at a time in the order queued, each in the agent's turn as `method(payload)` or
        `method(payload, item)`, at least once; a failing one is tried `attempts` times
        with backoff (`retry`: as for `schedule`), then logged and dropped, and the queue
        moves on."""
        options = retry_options(retry, attempts)
        return await self.runtime.queue.push(self, callback_name(self, callback), payload, retry=options)

    async def get_queue(self) -> list[QueuedCall]:
        """The calls waiting in the queue, next first."""
        return await self.runtime.queue.list(self)

    async def get_queued(self, id: str) -> QueuedCall | None:
        """One queued call, or None."""
        return await self.runtime.queue.get(self, id)

    async def dequeue(self, id: str) -> bool:
        """Take a call off the queue; False if it was not there (already run?)."""
        return await self.runtime.queue.remove(self, id)

    async def dequeue_all(self) -> int:
        """Empty the queue; returns how many calls were taken off."""
        return await self.runtime.queue.clear(self)

    async def get_agent(self, agent: type[AgentT] | str, name: str) -> AgentT:
        """Another agent by class (or URL name) and name, as Cloudflare's `getAgentByName`:
        a stub whose methods (public ones of the agent's own class) run in that agent's
        turn with its state fresh, from this process, and raise here what they raise. A
        call chain that comes back to an agent already in it (A calls B calls A) goes on
        in the turn it holds; otherwise a call waits for the turn up to AGENT_TURN_WAIT."""
        return stub_for(self.runtime.agent, agent, name)

    async def destroy(self) -> None:
        """Remove the agent: its scheduled calls, queue and workflow schedules are
        cancelled, its running workflows terminated, its WebSocket clients closed (4000)
        and every key of it deleted from Redis. The next call finds it new. Runs in the
        agent's turn (from inside a method of the agent too)."""
        async with self.turn():
            await self.runtime.destroy(self)
        self._snapshot = StateSnapshot(None, 0)

    async def approve_workflow(self, workflow_id: str, reason: str | None = None, metadata: Any = None) -> None:
        """Approve a run waiting in `wait_for_approval`: it returns `metadata` to the run."""
        await self.send_workflow_event(
            workflow_id, "approval", {"approved": True, "reason": reason, "metadata": metadata}
        )

    async def reject_workflow(self, workflow_id: str, reason: str | None = None) -> None:
        """Reject a run waiting in `wait_for_approval`: it raises WorkflowRejectedError(reason) there."""
        await self.send_workflow_event(workflow_id, "approval", {"approved": False, "reason": reason, "metadata": None})

    async def pause_workflow(self, workflow_id: str) -> WorkflowInfo:
        """No new step starts until resumed (a step already running may finish)."""
        return await self.runtime.runs.pause(self, workflow_id)

    async def resume_workflow(self, workflow_id: str) -> WorkflowInfo:
        """Let a paused run start new steps again, from where it stopped."""
        return await self.runtime.runs.resume(self, workflow_id)

    async def terminate_workflow(
        self, workflow_id: str, reason: str | None = None, *, rollback: bool = False
    ) -> WorkflowInfo:
        """End a run at once (Temporal terminate); its row says `terminated`.

        With `rollback=True` (Cloudflare's `terminate({rollback: true})`) the run is
        cancelled instead: the undos of its completed steps run, newest first, each once
        (given a `WorkflowTerminatedError` whose message is `reason`), then its row says
        `terminated`. The row is returned as it is when the cancel is sent."""
        return await self.runtime.runs.terminate(self, workflow_id, reason, rollback=rollback)

    async def restart_workflow(
        self, workflow_id: str, *, reset_tracking: bool = True, from_step: str | None = None
    ) -> WorkflowInfo:
        """Run again from the beginning with the same params (a running run is ended).
        `from_step` (a `step.do` name, numbered as the run numbered it: `fetch-1`): the
        steps its last execution had completed when that step began keep their results
        and do not run again, nor do the state writes and events it had sent; that step
        and the ones after it run again. ValidationError if it never began that step."""
        return await self.runtime.runs.restart(self, workflow_id, reset_tracking=reset_tracking, from_step=from_step)

    async def require_workflow(self, workflow_id: str) -> WorkflowInfo:
        """`get_workflow`, or NotFoundError (404 over HTTP) if this agent has no such run."""
        if (info := await self.get_workflow(workflow_id)) is None:
            raise NotFoundError(f"no workflow {workflow_id!r} for {self.agent_type}/{self.name}")
        return info

    async def get_workflow(self, workflow_id: str) -> WorkflowInfo | None:
        """The tracked row of a run this agent started, or None (reconciled with Temporal first)."""
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

    async def update_workflow_metadata(
        self, workflow_id: str, metadata: dict[str, Any], *, replace: bool = False
    ) -> WorkflowInfo:
        """Change a tracked run's metadata (what lists filter by), whatever its status:
        merged into what it has (a key given as None is removed), or exactly `metadata`
        with `replace=True`. The row afterwards; NotFoundError if there is no such run."""
        if not isinstance(metadata, dict):
            raise ValidationError("metadata must be a JSON object")
        check_json(metadata, what="metadata")

        def change(current: dict[str, Any]) -> dict[str, Any]:
            merged = {} if replace else current
            merged.update(metadata)
            return {key: value for key, value in merged.items() if value is not None}

        info = await self.runtime.tracker.update_metadata(self.keys, workflow_id, change)
        if info is None:
            raise NotFoundError(f"no workflow {workflow_id!r} for {self.agent_type}/{self.name}")
        return info

    async def delete_workflow(self, workflow_id: str, *, from_temporal: bool = False) -> bool:
        """Forget a run's tracking (the Temporal run, if still going, is not touched);
        with `from_temporal=True` its executions are deleted from Temporal too (history
        and visibility: gone from Temporal UI; a running one is terminated first).
        Whether there was such a run."""
        if from_temporal:
            info = await self.runtime.tracker.get(self.keys, workflow_id)
            if info is None:
                return False
            await self.runtime.runs.forget_on_temporal(info)
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


@dataclass(frozen=True, slots=True)
class WorkflowCallback:
    """What a run tells its agent (`on_workflow_callback`)."""

    type: Literal["progress", "complete", "error", "event"]
    workflow_name: str
    workflow_id: str | None
    """The id the agent tracks the run under (what the controls take)."""
    progress: Any = None
    result: Any = None
    error: dict[str, str] | None = None
    event: Any = None


def _as_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"state must be a JSON object, got {type(value).__name__}")
    return dict(value)


async def maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _annotation(fn: Any, parameter: str) -> Any:
    try:
        return inspect.signature(fn).parameters[parameter].annotation
    except (KeyError, TypeError, ValueError):
        return None


def stub_for(make: Callable[[str, str], Any], agent: type[AgentT] | str, name: str) -> AgentT:
    """The stub of agent `(agent, name)`, made by `make(agent_type, name)` (the runtime's
    `agent`): what `Agent.get_agent` and `AgentRuntime.get_agent` return."""
    agent_type = agent if isinstance(agent, str) else agent.agent_type
    return typing.cast(AgentT, AgentStub(make(agent_type, name)))


class AgentStub:
    """What `get_agent` returns: `await stub.method(*args, **kwargs)` calls the agent's
    method in its turn (see `enter`)."""

    def __init__(self, agent: Agent[Any]) -> None:
        self._agent = agent

    def __repr__(self) -> str:
        return f"<agent stub {self._agent.agent_type}/{self._agent.name}>"

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        target = self._agent
        fn = getattr(target, callback_name(target, method))

        async def call(*args: Any, **kwargs: Any) -> Any:
            bound = functools.update_wrapper(functools.partial(fn, **kwargs), fn) if kwargs else fn
            return await enter(target, bound, *args)

        return call


async def enter(agent: Agent[Any], fn: Any, *args: Any) -> Any:
    """Call `fn(*args)` (a method or hook of `agent`) as one entry into the agent: in its
    turn with fresh state, or, for an `@interleave` method, at once with the state read."""
    name = getattr(fn, "__name__", "call")
    with tracer.start_as_current_span(f"agent {name}", attributes=agent_attributes(agent.agent_type, agent.name)):
        if interleaves(fn):
            if agent.overrides("on_start") and agent.runtime.activations.pending(agent.keys):
                async with agent.turn():  # on_start first, in a turn of its own
                    pass
            await agent.refresh_state()
            return await maybe_await(fn(*args))
        async with agent.turn():
            return await maybe_await(fn(*args))
