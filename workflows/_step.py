"""`AgentWorkflowStep`: the durable primitives of a run.

Every method here is recorded in the run's Temporal history, so a completed step never
runs again, even across worker restarts. Each waits first for the run to be un-paused:
no new step starts while a run is paused.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeout

from ._durations import Duration, describe, parse_duration
from ._errors import EventTimeoutError, StepNameError, StepTimeoutError, error_info
from ._retries import DEFAULT_STEP_TIMEOUT, StepRetries
from ._run import BRIDGE_RETRY, BRIDGE_TIMEOUT, ActiveRun, ReceivedEvent, cancelled_run
from .contracts import (
    CARRIED_WRITES_NOT_APPLIED,
    Bridge,
    CarriedWrite,
    InlineStepInput,
    ReportInput,
    RunRef,
    SendEventInput,
    StateWriteInput,
)
from .inline import is_activity, park, unpark

DEFAULT_EVENT_TIMEOUT: Duration = "24 hours"
MAX_EVENT_TIMEOUT = timedelta(days=366)

MAX_STEP_NAME = 200
_RECORD_PAUSE = timedelta(milliseconds=1)


def step_activity_id(key: str, attempt: int = 1) -> str:
    """The Temporal activity id of a step's activity: the step's identity (`do:fetch`,
    `merge_agent_state#2`), so that a replay on changed code whose steps no longer line
    up by name fails as nondeterministic instead of handing one step's result to another,
    and the run continues on the new code with its completed steps matched by name
    (see `agents.control.redeploy`). A linear retry's later attempts add `@<attempt>`."""
    return key if attempt == 1 else f"{key}@{attempt}"


@dataclass(frozen=True)
class StepInfo:
    name: str
    """The name given to `step.do` (before any numbering)."""
    count: int
    """How many times `step.do` was called with this name in this run so far, this call
    included (1 for the first)."""


@dataclass(frozen=True)
class StepContext:
    """What a step body is given when it asks for it with a `ctx` parameter (Cloudflare's
    `WorkflowStepContext`): `async def fetch(ctx): ... ctx.attempt ...`. Inline bodies
    only: a registered activity reads `activity.info()`."""

    step: StepInfo
    attempt: int
    """This try (1 the first, 2 the first retry, ...)."""
    config: dict[str, Any]
    """The step's resolved configuration: `{"retries": {"limit", "delay", "backoff"},
    "timeout"}` (durations in seconds, defaults applied)."""


@dataclass(frozen=True)
class _Attempt:
    """One try of a `step.do`: what its activity (or inline local activity) starts with."""

    name: str
    fn: Any
    args: tuple[Any, ...]
    limit: timedelta
    retry: RetryPolicy
    number: int
    context: StepContext | None = None
    """Given to an inline body that takes `ctx`."""
    kind: str = "do"
    """`do` for a step, `rollback` for its undo (see `AgentWorkflowStep.roll_back`)."""

    @property
    def activity_id(self) -> str:
        return step_activity_id(f"{self.kind}:{self.name}", self.number)

    @property
    def summary(self) -> str:
        what = self.name if self.kind == "do" else f"{self.kind} {self.name}"
        return what if self.number == 1 else f"{what} (attempt {self.number})"


class AgentWorkflowStep:
    def __init__(self, run: ActiveRun) -> None:
        self._run = run
        self._names: set[str] = set()
        self._uses: dict[str, int] = {}
        self._calls: dict[str, int] = {}
        """`step.do` calls per given name (a step context's `step.count`)."""
        self._undos: list[_Undo] = []
        """Completed steps' rollbacks, in the order the steps completed (not carried:
        re-running `run` registers them again, from the recorded results)."""

    def _claim(self, name: str) -> str:
        """The step's identity: `name`, numbered when the name is used again (`nap`,
        `nap-1`, `nap-2`, as on Cloudflare). Numbers follow the order of the calls, which
        re-running the same code reproduces, so they are stable across replays and
        continue-as-new; a number already taken by an explicit name is skipped."""
        if not isinstance(name, str) or not name or len(name) > MAX_STEP_NAME:
            raise StepNameError(f"a step needs a name of 1-{MAX_STEP_NAME} characters, got {name!r}")
        n = self._uses.get(name, 0)
        numbered = name if n == 0 else f"{name}-{n}"
        while numbered in self._names:
            n += 1
            numbered = f"{name}-{n}"
        self._uses[name] = n + 1
        self._names.add(numbered)
        return numbered

    async def do(
        self,
        name: str,
        fn: Callable[..., Any] | str,
        *args: Any,
        retries: StepRetries | dict[str, Any] | None = None,
        timeout: Duration | None = None,
        rollback: Callable[..., Any] | str | None = None,
        rollback_config: dict[str, Any] | None = None,
    ) -> Any:
        """Run `fn(*args)` once, durably, with retries and a per-attempt timeout.

        `fn` is a registered activity (runs on any worker; suits long work) or any async
        callable: a closure, a lambda returning an awaitable, a method (runs in this
        worker, outside the sandbox, and may do I/O; see `workflows.inline`). Either
        way its result is recorded in the run's history and never computed again.

        `rollback` (a saga's compensation, Cloudflare's `rollback` option): once this step
        has completed, should the run fail (or be terminated with rollback), it is undone
        by `rollback(output)` (also given `error=` and `ctx=` when it asks for them by
        name), after the undos of steps that
        completed later: reverse order, each a durable step of its own (`rollback:<name>`
        in Temporal UI: once, as any step), with `rollback_config={"retries", "timeout"}`."""
        given = name
        name = self._claim(name)
        self._calls[given] = self._calls.get(given, 0) + 1
        config = StepRetries.parse(retries)
        limit = parse_duration(timeout or DEFAULT_STEP_TIMEOUT, what=f"step {name!r} timeout")
        context = None
        if not is_activity(fn) and _asks_for_context(fn):
            settings = {"retries": config.as_config(), "timeout": limit.total_seconds()}
            context = StepContext(StepInfo(given, self._calls[given]), 1, settings)
        output = await self._run.durable(f"do:{name}", lambda: self._do(name, fn, args, config, limit, context))
        if rollback is not None:
            self._undos.append(_Undo(name, rollback, output, rollback_config or {}, context))
        return output

    async def roll_back(self, error: BaseException) -> None:
        """Undo the completed steps that registered a rollback, newest first, each once
        (a durable step: a replay or a new worker skips the undos already done). An undo
        that fails after its retries is logged and the others still run."""
        undos, self._undos = self._undos, []
        for undo in reversed(undos):
            config = StepRetries.parse(undo.config.get("retries"))
            limit = parse_duration(
                undo.config.get("timeout") or DEFAULT_STEP_TIMEOUT, what=f"rollback of {undo.name!r}"
            )
            fn, args = undo.call(error)
            try:
                run_undo = functools.partial(self._do, undo.name, fn, args, config, limit, None, kind="rollback")
                await self._run.durable(f"rollback:{undo.name}", run_undo)
                if not is_activity(undo.fn):
                    # An inline undo is a local activity, recorded only as its workflow
                    # task completes; a timer ends the task, so an undo done is recorded
                    # before the next begins (a worker killed then does not undo twice).
                    await workflow.sleep(_RECORD_PAUSE, summary=f"rollback {undo.name}: recorded")
            except ApplicationError as err:
                workflow.logger.warning("rollback of step %s failed: %s", undo.name, err.message)

    async def _do(
        self,
        name: str,
        fn: Any,
        args: tuple[Any, ...],
        config: StepRetries,
        limit: timedelta,
        context: StepContext | None,
        *,
        kind: str = "do",
    ) -> Any:
        await self._run.until_resumed()
        number = 1
        while True:
            this = None if context is None else dataclasses.replace(context, attempt=number)
            attempt = _Attempt(name, fn, args, limit, config.temporal_policy(), number, this, kind)
            try:
                if is_activity(fn):
                    return await self._activity(attempt)
                return await self._inline(attempt)
            except (ActivityError, ApplicationError, TemporalTimeout) as err:
                if cancelled_run(err):
                    raise  # not the step's failure: the run is being cancelled
                # A local activity's failure arrives as its own error, not an ActivityError.
                cause = err.cause if isinstance(err, ActivityError) else err
                retryable = not (isinstance(cause, ApplicationError) and cause.non_retryable)
                if config.driven_by_workflow and retryable and number <= config.limit:
                    wait = config.wait_after(number, cause, what=f"step {name!r} retry delay")
                    if wait is not None:
                        await workflow.sleep(wait, summary=f"{name}: retry backoff")
                        number += 1
                        continue
                raise _step_failure(name, err, limit) from err

    async def _activity(self, attempt: _Attempt) -> Any:
        """The step's activity. When the state writes it carries cannot be applied at once
        (Redis away, the agent's turn held), its worker hands them back before the step's
        code runs: they are applied on their own, retried until they land, and the
        activity starts again, so an outage does not spend the step's tries."""
        while True:
            self._run.state.hands_back_writes = True  # read by the interceptor as it starts
            try:
                handle = workflow.start_activity(
                    attempt.fn,
                    args=list(attempt.args),
                    activity_id=attempt.activity_id,
                    start_to_close_timeout=attempt.limit,
                    retry_policy=attempt.retry,
                    summary=attempt.summary,
                )
            finally:
                self._run.state.hands_back_writes = False
            try:
                return await handle
            except ActivityError as err:
                if not _writes_handed_back(err):
                    raise
            # The handle's failure put the writes back in line first (CarriedWritesInterceptor).
            await self._run.flush_writes()

    async def _inline(self, attempt: _Attempt) -> Any:
        await self._run.flush_writes()  # the body may read the agent's state
        info = workflow.info()
        key = f"{info.workflow_id}|{info.run_id}|{attempt.kind}:{attempt.name}"
        park(key, attempt.fn, attempt.args, attempt.context)
        try:
            return await workflow.execute_local_activity(
                Bridge.INLINE_STEP,
                InlineStepInput(key, self._run.ref),
                activity_id=attempt.activity_id,
                start_to_close_timeout=attempt.limit,
                retry_policy=attempt.retry,
                summary=attempt.summary,
            )
        finally:
            unpark(key)

    async def sleep(self, name: str, duration: Duration) -> None:
        """Durable timer: the run sleeps `duration` (seconds to a year)."""
        name = self._claim(name)
        delta = parse_duration(duration, what=f"sleep {name!r}")
        await self._run.durable(f"sleep:{name}", lambda: self._sleep(name, delta))

    async def _sleep(self, name: str, delta: timedelta) -> None:
        await self._run.until_resumed()
        await self._run.flush_writes()
        if delta > timedelta(0):
            await workflow.sleep(delta, summary=name)

    async def sleep_until(self, name: str, when: datetime | int | float) -> None:
        """Sleep until `when` (an aware datetime, or epoch milliseconds)."""
        name = self._claim(name)
        if isinstance(when, (int, float)):
            when = datetime.fromtimestamp(when / 1000, tz=UTC)
        if when.tzinfo is None:
            raise ValueError(f"sleep_until {name!r}: give an aware datetime (with a timezone)")
        target = when

        async def sleep() -> None:
            await self._run.until_resumed()
            await self._run.flush_writes()
            if (delta := target - workflow.now()) > timedelta(0):
                await workflow.sleep(delta, summary=name)

        await self._run.durable(f"sleep:{name}", sleep)

    async def wait_for_event(self, name: str, *, type: str, timeout: Duration | None = None) -> ReceivedEvent:
        """Wait for an event of `type`. One sent before the wait is kept and returned."""
        name = self._claim(name)
        limit = parse_duration(timeout or DEFAULT_EVENT_TIMEOUT, what=f"wait {name!r} timeout")
        if limit > MAX_EVENT_TIMEOUT or limit <= timedelta(0):
            raise ValueError(f"wait {name!r}: timeout must be between 1 ms and 1 year")
        recorded = await self._run.durable(f"wait:{name}", lambda: self._wait(name, type, limit))
        return ReceivedEvent(recorded[0], recorded[1], datetime.fromisoformat(recorded[2]))

    async def _wait(self, name: str, type: str, limit: timedelta) -> list[Any]:
        """The event as [type, payload, iso time], a form that survives continue-as-new."""
        await self._run.until_resumed()
        event = self._run.take_event(type)
        if event is None:
            self._run.state.waiting_for = type
            await self._run.set_status("waiting", waiting_for=type)
            try:
                await workflow.wait_condition(lambda: self._run.has_event(type), timeout=limit, timeout_summary=name)
            except TimeoutError:
                raise EventTimeoutError(
                    f"wait_for_event {name!r} timed out after {describe(limit)} waiting for an event of type {type!r}"
                ) from None
            finally:
                self._run.state.waiting_for = None
            event = self._run.take_event(type)
            assert event is not None
            if not event.resumes:  # else an agent of an earlier version marked it running
                await self._run.resumed(event)
        return [event.type, event.payload, event.timestamp.isoformat()]

    async def report_complete(self, result: Any = None) -> None:
        """Record the run's result and call the agent's `on_workflow_complete`, once."""
        await self._run.report(ReportInput(self._run.ref, "complete", result=result))

    async def report_error(self, error: BaseException | str | dict[str, str]) -> None:
        """Record the run's error and call the agent's `on_workflow_error`, once."""
        if isinstance(error, BaseException):
            info = error_info(error)
        elif isinstance(error, str):
            info = {"name": "Error", "message": error}
        else:
            info = {"name": str(error.get("name", "Error")), "message": str(error.get("message", ""))}
        await self._run.report(ReportInput(self._run.ref, "error", error=info))

    async def send_event(self, event: Any) -> None:
        """Deliver `event` to the agent's `on_workflow_event`, durably (the activity finds
        its marker when retried)."""

        async def deliver(run: RunRef, n: int) -> None:
            await workflow.execute_activity(
                Bridge.SEND_EVENT,
                SendEventInput(run, event),
                activity_id=f"send_event#{n}",
                start_to_close_timeout=BRIDGE_TIMEOUT,
                retry_policy=BRIDGE_RETRY,
                summary="send_event",
            )

        await self._once("send_event", deliver)

    async def update_agent_state(self, state: dict[str, Any]) -> None:
        """Replace the agent's state (persisted, broadcast to its clients)."""
        await self._write("update_agent_state", "set", state)

    async def merge_agent_state(self, partial: dict[str, Any]) -> None:
        """Shallow-merge `partial` into the agent's state (persisted, broadcast)."""
        await self._write("merge_agent_state", "merge", partial)

    async def reset_agent_state(self) -> None:
        """Put the agent's state back to its `initial_state` (persisted, broadcast)."""
        await self._write("reset_agent_state", "reset")

    async def _write(self, what: str, mode: str, values: dict[str, Any] | None = None) -> None:
        """A durable state write, applied once and in order with the run's other writes.

        For an agent type with state hooks, it is a local activity awaited here: a hook
        that refuses the write raises here. Otherwise the write goes out with the run's
        next activity (in its header, recorded with it in the history) and the worker
        that takes that activity applies it before the activity's code runs; before
        anything else (a timer, a wait, a local activity, the run's end) it is applied
        as its own local activity. Either way it costs no round trip of its own through
        the server, and one idempotent Redis script keyed by its id applies it, so a
        retry or a replay after a worker died finds its marker and changes nothing."""

        async def carry(run: RunRef, n: int) -> None:
            carried = CarriedWrite(f"{what}#{n}", StateWriteInput(run, mode, dict(values or {})))  # type: ignore[arg-type]
            self._run.state.carried.append(carried)
            if not self._run.carries_writes:
                await self._run.flush_writes()

        await self._once(what, carry)

    async def _once(self, what: str, effect: Callable[[RunRef, int], Awaitable[None]]) -> None:
        """A durable effect on the run's agent, once: `effect(run, n)` for the n-th of its
        kind, skipped when a continuation already did it (see `_durable_unnamed`)."""
        run = self._run.ref
        if run is None:
            self._run.no_agent(what)
            return

        async def execute(n: int) -> None:
            await self._run.until_resumed()
            await effect(run, n)

        await self._run.durable_unnamed(what, execute)


def _writes_handed_back(err: ActivityError) -> bool:
    cause = err.cause
    return isinstance(cause, ApplicationError) and cause.type == CARRIED_WRITES_NOT_APPLIED


@dataclass(frozen=True)
class _Undo:
    """A completed step's rollback, waiting in case the run fails."""

    name: str
    fn: Any
    output: Any
    config: dict[str, Any]
    context: StepContext | None

    def call(self, error: BaseException) -> tuple[Any, tuple[Any, ...]]:
        """(what the undo step runs, its args): a registered activity gets the output; an
        inline callable also `error=` and `ctx=` when it asks for them by name."""
        if is_activity(self.fn):
            return self.fn, (self.output,)
        wanted = _parameters(self.fn)
        extra = {k: v for k, v in (("error", error), ("ctx", self.context)) if k in wanted}
        return functools.partial(self.fn, **extra), (self.output,)


def _parameters(fn: Any) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def _step_failure(name: str, err: Exception, limit: timedelta) -> ApplicationError:
    """The error a failed step raises: the original error's type and message, or a
    StepTimeoutError that says which step timed out and after how long."""
    cause = err.cause if isinstance(err, ActivityError) else err
    if isinstance(cause, TemporalTimeout):
        return StepTimeoutError(f"step {name!r} timed out after {describe(limit)}")
    info = error_info(err)
    return ApplicationError(info["message"], type=info["name"], non_retryable=True)


def _asks_for_context(fn: Any) -> bool:
    """Whether an inline body takes its step's context: a parameter named `ctx`."""
    return "ctx" in _parameters(fn)
