"""The bridge activities: how workflow effects reach Redis, the agent and its clients.

Durable ones (state writes, reports, events) are idempotent: a retry after a crash
that came after the effect but before Temporal recorded completion finds the effect's
marker and does not apply it again. Non-durable ones (progress, broadcast, agent
calls, status) are local activities and may repeat. Agent hooks and methods run in the
agent's turn, like every other entry into agent code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import structlog
from pydantic_core import to_jsonable_python
from temporalio import activity
from temporalio.exceptions import ApplicationError

from agents import Agent, AgentBusyError, AgentRuntime, StateRejectedError, WorkflowCallback, WorkflowInfo
from agents.bridge import (
    EFFECT_TTL_SECONDS,
    Transition,
    enter,
    maybe_await,
    now_ms,
    workflow_progress,
    workflow_status,
    write_state,
)
from agents.core.errors import NotFoundError, TurnLostError, ValidationError
from workflows.contracts import (
    AgentCallInput,
    AgentRef,
    Bridge,
    BroadcastInput,
    InlineStepInput,
    ProgressInput,
    ReportInput,
    RunRef,
    SendEventInput,
    StateWriteInput,
    StatusInput,
    TrackInput,
)
from workflows.inline import AGENT_CALLS, parked

from ._outbox import Outbox

log = structlog.get_logger("agents.bridge")

# Methods of the Agent base a workflow may call through `self.agent`; everything else
# on the base (hooks, internals) is not an RPC target.
_UNFINISHED = "queued,running,waiting,paused"


def _progress_mark(run: RunRef, seq: int | None) -> str | None:
    """`<run id>:<n>`: the n-th progress report of that run (counts restart per run)."""
    return None if seq is None or not run.run_id else f"{run.run_id}:{seq}"


_BASE_CALLABLE = {"set_state", "merge_state", "reset_state", "broadcast"}


@contextlib.contextmanager
def _bound(run: RunRef) -> Iterator[None]:
    # Workflow id, run id and step are bound for every activity by the plugin's
    # LogContextInterceptor; the bridge adds which tracked run it acts for.
    with structlog.contextvars.bound_contextvars(tracking_id=run.tracking_id):
        yield


def _effect_id() -> str:
    info = activity.info()
    return f"{info.workflow_id}:{info.workflow_run_id}:{info.activity_id}"


class BridgeActivities:
    def __init__(self, runtime: AgentRuntime) -> None:
        self._rt = runtime
        self.outbox = Outbox(self.send_progress)
        """Where this worker's workflows post their progress reports."""

    def all(self) -> list[Any]:
        return [
            self.state,
            self.report,
            self.send_event,
            self.progress,
            self.delivered,
            self.broadcast,
            self.call,
            self.status,
            self.track,
            self.inline_step,
        ]

    def _agent(self, run: RunRef) -> Agent[Any]:
        return self._rt.agent(run.agent.agent_type, run.agent.name)

    async def _hook(self, agent: Agent[Any], callback: WorkflowCallback, *, once: str | None = None) -> None:
        """Run the agent's callback hook in its turn; with `once`, at most once per id."""
        if not agent.overrides("on_workflow_callback") and not agent.overrides(f"on_workflow_{callback.type}"):
            if callback.type == "error":  # the default logs it: no agent code, so no turn
                await agent.on_workflow_callback(callback)
            return
        marker = agent.keys.effect(once) if once else None
        if marker and await self._rt.redis.exists(marker):
            return
        try:
            await enter(agent, agent.on_workflow_callback, callback)
        except AgentBusyError:
            raise  # the activity retries: the hook has not run yet
        except Exception:
            # A failing user hook must not block the run's durable progress.
            log.exception("agent hook failed", hook=f"on_workflow_{callback.type}")
        if marker:
            await self._rt.redis.set(marker, 1, ex=EFFECT_TTL_SECONDS)

    @activity.defn(name=Bridge.STATE)
    async def state(self, input: StateWriteInput) -> int:
        return await self.apply_write(input, _effect_id())

    async def apply_write(self, input: StateWriteInput, effect_id: str) -> int:
        """A run's state write, applied at most once per `effect_id`: as a local activity
        of its own, or carried by the run's next activity (`activities._carried`). A
        refused write fails the activity that applies it, for good."""
        with _bound(input.run):
            agent = self._agent(input.run)
            mode, values = input.mode, input.values
            if mode == "reset":
                mode, values = "set", dict(agent.initial_state)
            try:
                await write_state(agent, mode, values, effect_id=effect_id)
            except StateRejectedError as err:
                raise ApplicationError(err.message, type="StateRejectedError", non_retryable=True) from err
            return agent.state_version

    @activity.defn(name=Bridge.REPORT)
    async def report(self, input: ReportInput) -> None:
        with _bound(input.run):
            run, agent = input.run, self._agent(input.run)
            callback: WorkflowCallback | None
            if input.outcome == "complete":
                status, fields = "complete", {"result": input.result}
                callback = WorkflowCallback("complete", run.workflow_name, run.tracking_id, result=input.result)
            elif input.outcome == "terminated":  # its undos done; no hook, as for a terminate
                status, fields, callback = "terminated", {}, None
            else:
                status, fields = "errored", {"error": input.error}
                callback = WorkflowCallback("error", run.workflow_name, run.tracking_id, error=input.error)
            if run.tracking_id:
                change = Transition(
                    status=status,
                    run_id=run.execution,
                    reporter_run=run.run_id,
                    announce=workflow_status(run.tracking_id, run.workflow_name, status, **fields),
                    fields=fields,
                )
                await self._rt.tracker.transition(agent.keys, run.tracking_id, change)
            log.info("run reported", outcome=input.outcome)
            if callback is not None:
                await self._hook(agent, callback, once=_effect_id() + ":hook")

    @activity.defn(name=Bridge.SEND_EVENT)
    async def send_event(self, input: SendEventInput) -> None:
        with _bound(input.run):
            run = input.run
            callback = WorkflowCallback("event", run.workflow_name, run.tracking_id, event=input.event)
            await self._hook(self._agent(run), callback, once=_effect_id())

    @activity.defn(name=Bridge.PROGRESS)
    async def progress(self, input: ProgressInput) -> None:
        """Where a workflow has no outbox (see `send_progress`)."""
        await self.send_progress(input)

    @activity.defn(name=Bridge.DELIVERED)
    async def delivered(self, run_key: str) -> None:
        """Local activity: wait until the run's outbox has delivered what it posted."""
        await self.outbox.delivered(run_key)

    async def send_progress(self, input: ProgressInput) -> None:
        """A progress report: the run's row, its clients, the agent's hook. Reports come
        through the worker's outbox (`workflows.outbox`), not a local activity."""
        with _bound(input.run):
            run, agent = input.run, self._agent(input.run)
            if run.tracking_id:
                change = Transition(
                    status="running",
                    fields_always=True,
                    run_id=run.execution,
                    progress_mark=_progress_mark(run, input.seq),
                    announce=workflow_status(run.tracking_id, run.workflow_name, "running"),
                    fields={"progress": input.progress},
                )
                await self._rt.tracker.transition(agent.keys, run.tracking_id, change)
            await self._rt.publish(agent.keys, workflow_progress(run.tracking_id, run.workflow_name, input.progress))
            callback = WorkflowCallback("progress", run.workflow_name, run.tracking_id, progress=input.progress)
            await self._hook(agent, callback)

    @activity.defn(name=Bridge.BROADCAST)
    async def broadcast(self, input: BroadcastInput) -> None:
        with _bound(input.run):
            await self._rt.publish(self._agent(input.run).keys, input.message)

    @activity.defn(name=Bridge.STATUS)
    async def status(self, input: StatusInput) -> bool:
        """A status the run reports of itself; True once recorded (the run then forgets
        the event ids it carried)."""
        with _bound(input.run):
            run, agent = input.run, self._agent(input.run)
            if run.tracking_id:
                waiting = input.status == "waiting"
                change = Transition(
                    status=input.status,
                    # Its word on a pause or resume, numbered, moves the row from any
                    # unfinished status (the count keeps a late one from counting).
                    only_from=None if input.controls is None else _UNFINISHED,
                    reported_controls=input.controls,
                    progress_fence=_progress_mark(run, input.progress_seq),
                    run_id=run.execution,
                    reporter_run=run.run_id,
                    announce=workflow_status(run.tracking_id, run.workflow_name, input.status),
                    consumed=input.consumed,
                    # An event of that type already delivered: the wait ends at once.
                    unless_pending=input.waiting_for if waiting else None,
                    announce_instead=workflow_status(run.tracking_id, run.workflow_name, "running")
                    if waiting
                    else None,
                    fields={"waiting_for": input.waiting_for} if waiting else {},
                )
                await self._rt.tracker.transition(agent.keys, run.tracking_id, change)
        return True

    @activity.defn(name=Bridge.TRACK)
    async def track(self, input: TrackInput) -> str:
        """Register a run a schedule started; its id comes from the Temporal run's id
        (`{schedule}-{time}`), so a retry registers the same row."""
        info = activity.info()
        agent = self._agent(input.run)
        tracking_id = re.sub(r"[^A-Za-z0-9_.\-]", "-", (info.workflow_id or "").rsplit("/", 1)[-1])[:128]
        row = WorkflowInfo(
            workflow_id=tracking_id,
            temporal_workflow_id=info.workflow_id or "",
            workflow_name=input.run.workflow_name,
            status="queued",
            params=input.params,
            metadata=input.metadata,
            created_at=now_ms(),
        )
        if await self._rt.tracker.create(agent.keys, row):
            await self._rt.tracker.set_run_id(agent.keys, tracking_id, input.run.execution or "")
            log.info("scheduled run tracked", tracking_id=tracking_id)
        return tracking_id

    @activity.defn(name=Bridge.INLINE_STEP)
    async def inline_step(self, input: InlineStepInput) -> Any:
        """Run a step body the workflow parked in this process (see workflows.inline);
        `self.agent.x()` inside it calls the agent directly, in its turn."""
        fn, args, context = parked(input.key)
        kwargs = {}
        if context is not None:  # the body asked for its step's context (a `ctx` parameter)
            kwargs["ctx"] = dataclasses.replace(context, attempt=context.attempt - 1 + activity.info().attempt)
        marker = AGENT_CALLS.set(self._call_agent)
        try:
            return to_jsonable_python(await maybe_await(fn(*args, **kwargs)))
        finally:
            AGENT_CALLS.reset(marker)

    async def _call_agent(self, run: RunRef, method: str, args: list[Any], target: AgentRef | None) -> Any:
        return await self.call(AgentCallInput(run, method, args, target))

    @activity.defn(name=Bridge.CALL)
    async def call(self, input: AgentCallInput) -> Any:
        with _bound(input.run):
            if input.target is not None:  # another agent's (get_agent): as its stub allows
                return await self._call_other(input.target, input.method, input.args)
            agent = self._agent(input.run)
            name = input.method
            defined_by_user = any(
                name in vars(c) for c in type(agent).__mro__ if c is not Agent and issubclass(c, Agent)
            )
            method = getattr(agent, name, None)
            if name.startswith("_") or not callable(method) or not (defined_by_user or name in _BASE_CALLABLE):
                raise ApplicationError(
                    f"{agent.agent_type} has no method {name!r} a workflow can call",
                    type="UnknownAgentMethod",
                    non_retryable=True,
                )
            return to_jsonable_python(await enter(agent, method, *input.args))

    async def _call_other(self, target: AgentRef, method: str, args: list[Any]) -> Any:
        """Another agent's method, in its turn, with the rule of its stub (a public method
        of its own class). What the method raises fails the call for good, named."""
        try:
            call = getattr(await self._rt.get_agent(target.agent_type, target.name), method)
        except (NotFoundError, ValidationError) as err:
            raise ApplicationError(err.message, type="UnknownAgentMethod", non_retryable=True) from err
        try:
            return to_jsonable_python(await call(*args))
        except (AgentBusyError, TurnLostError):
            raise  # its turn was not to be had in time: tried again
        except Exception as err:
            raise ApplicationError(str(err), type=type(err).__name__, non_retryable=True) from err
