"""`AgentWorkflow`: the base class users subclass, and its Temporal entry point.

A subclass that defines `run(event, step)` becomes a Temporal workflow named after
the class (`ProcessItems` -> `process_items`, or `name=` in the class statement). The
base class injects the `@workflow.run` entry point, which parses params, runs the
user's `run`, and reports the outcome (complete or error) exactly once.
"""

from __future__ import annotations

import asyncio
import re
import typing
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from pydantic_core import to_jsonable_python
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError
from temporalio.exceptions import CancelledError as TemporalCancelledError

from ._durations import Duration
from ._errors import WorkflowRejectedError
from ._step import BRIDGE_RETRY, BRIDGE_TIMEOUT, AgentWorkflowStep, ReceivedEvent, error_info
from .contracts import (
    AgentCallInput,
    AgentWorkflowInput,
    Bridge,
    BroadcastInput,
    CarriedWrite,
    ProgressInput,
    ReportInput,
    RunRef,
    StatusInput,
    TrackInput,
    WorkflowEventSignal,
)
from .inline import AGENT_CALLS
from .outbox import post

AgentT = TypeVar("AgentT")
Params = TypeVar("Params")
Progress = TypeVar("Progress")

# Non-durable bridge calls: short, a few tries, and a failure never fails the run.
_LOCAL_TIMEOUT = timedelta(seconds=10)
_LOCAL_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=200))
_STATUS_AFTER_PROGRESS = "agents.status-after-progress"
_RESUME_MARKED_BY_AGENT = "agents.resume-marked-by-agent"
_REPORTS_CONTROLS = "agents.reports-pause-and-resume"


@dataclass
class AgentWorkflowEvent(Generic[Params]):
    """What `run` receives: the validated params and where the run comes from."""

    payload: Params
    timestamp: Any
    instance_id: str
    metadata: dict[str, Any]


def workflow_name_of(cls: type) -> str:
    """`ProcessItems` -> `process_items`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


def _type_argument(cls: type, index: int) -> Any:
    for base in getattr(cls, "__orig_bases__", ()):
        if typing.get_origin(base) is not None and issubclass(typing.get_origin(base), AgentWorkflow):
            args = typing.get_args(base)
            if len(args) > index and not isinstance(args[index], TypeVar):
                return args[index]
    return None


def _params_model(cls: type) -> Any:
    return _type_argument(cls, 1)


def _carries_writes(cls: type) -> bool:
    """Whether the run's state writes may go out with its next activity: only for an
    agent type with no state hooks, whose writes cannot be refused (a hook's refusal
    must raise at the write, in the run, as it does when the write runs on its own)."""
    agent = _type_argument(cls, 0)
    overrides = getattr(agent, "overrides", None)
    return callable(overrides) and not overrides("validate_state_change") and not overrides("on_state_update")


class AgentWorkflow(Generic[AgentT, Params, Progress]):
    """Subclass with `AgentWorkflow[MyAgent, MyParams, MyProgress]` and define `run`."""

    workflow_name: ClassVar[str]
    params_model: ClassVar[Any] = None
    history_limit: ClassVar[int] = 20_000
    """History events after which the run continues as new (Temporal ends a run past
    51,200), carrying its completed steps, so runs of any length work."""

    _carries_writes: ClassVar[bool] = False
    """Set per subclass: see `_carries_writes()` and `AgentWorkflowStep.merge_agent_state`."""

    strict_replay: ClassVar[bool] = False
    """False (the default): when a redeploy changed this workflow's code so that a run's
    history no longer replays, the run continues on the new code, its completed steps
    matched by name (README: "Changing workflow code while runs are in flight"). True:
    Temporal's strict replay, where such a run's workflow tasks fail until the old code is
    back (use Temporal's worker versioning or `workflow.patched` to change code then)."""

    def __init_subclass__(cls, *, name: str | None = None, strict_replay: bool | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if strict_replay is not None:
            cls.strict_replay = strict_replay
        if "run" not in cls.__dict__:
            return
        cls.workflow_name = name or cls.__dict__.get("workflow_name") or workflow_name_of(cls)
        cls.params_model = _params_model(cls) or cls.params_model
        cls._carries_writes = _carries_writes(cls)

        async def _entry(self: AgentWorkflow[Any, Any, Any], input: Any) -> Any:
            return await self._execute(AgentWorkflowInput.of(input))

        # Temporal wants @workflow.run defined on the class itself, not inherited.
        _entry.__qualname__ = f"{cls.__name__}._entry"
        _entry.__module__ = cls.__module__
        # Raw JSON in (agent input or plain params, see AgentWorkflowInput.of); real
        # objects, not strings: the SDK resolves hints in the subclass's module.
        _entry.__annotations__ = {"input": Any, "return": Any}
        cls._entry = workflow.run(_entry)  # type: ignore[attr-defined]
        # A replay that no longer matches the code fails the run (instead of its workflow
        # task, over and over): the agent layer then continues it on the new code.
        failures = [] if cls.strict_replay else [workflow.NondeterminismError]
        workflow.defn(name=cls.workflow_name, failure_exception_types=failures)(cls)

    async def run(self, event: AgentWorkflowEvent[Params], step: AgentWorkflowStep) -> Any:
        """The workflow: override it. `event.payload` is the validated params, durable work
        goes through `step`, and the return value is the run's result."""
        raise NotImplementedError

    # ----- non-durable: may repeat on retry, never fail the run -----

    async def report_progress(self, progress: Progress) -> None:
        """Tell the agent (`on_workflow_progress`) and its clients how far the run is."""
        if self._recalling:
            return  # catching up after continue-as-new: this was reported already
        # Live progress in Temporal UI (the run's current details), agent or not.
        workflow.set_current_details(f"**progress**: `{_short_json(progress)}`")
        if self._run is None:
            return self._no_agent("report_progress")
        self._posted = True  # also on replay: it decides a command (see _delivered)
        self._progress_seq += 1  # also on replay: status reports carry the count
        if workflow.unsafe.is_replaying():
            return  # reported when this code first ran
        # A copy of the value: the caller may reuse its dict.
        report = ProgressInput(self._run, to_jsonable_python(progress), seq=self._progress_seq)
        info = workflow.info()
        if not post(info.task_queue, _run_key(), report):
            await self._local(Bridge.PROGRESS, report, "report_progress")

    def broadcast_to_clients(self, message: Any) -> asyncio.Task[Any] | None:
        """Send `message` to every WebSocket client of the agent (awaiting is optional)."""
        if self._run is None:
            return self._no_agent("broadcast_to_clients")
        if self._recalling:
            return None  # sent already, before continue-as-new
        task = asyncio.ensure_future(self._broadcast(BroadcastInput(self._run, message)))
        self._pending.append(task)
        return task

    async def _broadcast(self, message: BroadcastInput) -> None:
        await self._flush_writes()  # clients hear of state written before the broadcast first
        await self._local(Bridge.BROADCAST, message, "broadcast")

    @property
    def workflow_id(self) -> str:
        """This run's id: what `run_workflow` returned and every control takes (for a
        run started without an agent, its Temporal workflow id)."""
        if self._run is not None and self._run.tracking_id:
            return self._run.tracking_id
        return self._input.tracking_id or workflow.info().workflow_id

    @property
    def agent(self) -> AgentT:
        """Call the originating agent's methods: `await self.agent.save(x)`."""
        return typing.cast(AgentT, _AgentProxy(self))

    async def wait_for_approval(
        self,
        step: AgentWorkflowStep,
        *,
        timeout: Duration | None = None,
        event_type: str = "approval",
        name: str = "approval",
    ) -> Any:
        """Wait for `approve_workflow` / `reject_workflow`; return the approval's metadata.

        A rejection raises WorkflowRejectedError(reason). `event_type`: the event that
        carries the decision (`approval`, what the approve/reject controls send); `name`:
        the step's name (numbered when used again: `approval`, `approval-1`, ...).
        """
        event = await step.wait_for_event(name, type=event_type, timeout=timeout)
        payload = event.payload if isinstance(event.payload, dict) else {}
        if not payload.get("approved"):
            raise WorkflowRejectedError(payload.get("reason"))
        return payload.get("metadata")

    # ----- Temporal handlers -----

    @workflow.signal(name=Bridge.SIGNAL_EVENT)
    def _on_event(self, event: WorkflowEventSignal) -> None:
        self._events.append(ReceivedEvent(event.type, event.payload, workflow.now(), event.resumes, event.id))

    @workflow.signal(name=Bridge.SIGNAL_PAUSE)
    async def _on_pause(self) -> None:
        self._paused = True
        # The run says what it did, numbered: pauses and resumes from several API
        # processes reach it in one order (its history), while the controls' own marks
        # land in Redis in any order; the numbered report puts the row right.
        if workflow.patched(_REPORTS_CONTROLS):
            self._controls += 1
            await self._set_status("paused", controls=self._controls)

    @workflow.signal(name=Bridge.SIGNAL_RESUME)
    async def _on_resume(self) -> None:
        self._paused = False
        if workflow.patched(_REPORTS_CONTROLS):
            self._controls += 1
            status = "running" if self._waiting_for is None else "waiting"
            await self._set_status(status, waiting_for=self._waiting_for, controls=self._controls)
        elif self._waiting_for is not None:  # history from before the numbered reports
            await self._set_status("waiting", waiting_for=self._waiting_for)

    # ----- internals -----

    def __init__(self) -> None:
        self._events: list[ReceivedEvent] = []
        self._paused = False
        self._waiting_for: str | None = None
        self._consumed: list[str] = []
        """Ids of events taken since the last status report (see StatusInput.consumed)."""
        self._reported = False
        self._run: RunRef | None = None
        self._pending: list[asyncio.Future[Any]] = []
        self._warned: set[str] = set()
        self._input = AgentWorkflowInput()
        self._memo: dict[str, Any] = {}
        self._recalling = False
        self._counters: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._redeploys = 0
        self._carried: list[CarriedWrite] = []
        self._posted = False
        self._writes_flushing = asyncio.Lock()
        self._hands_back_writes = False
        """True while a step starts its activity (see CARRIED_WRITES_HAND_BACK)."""
        self._controls = 0
        """Pause and resume signals taken (see StatusInput.controls)."""
        self._progress_seq = 0
        """Progress reports posted by this run (see ProgressInput.seq)."""

    async def _execute(self, input: AgentWorkflowInput) -> Any:
        self._input = input
        if input.carried:
            self._restore(input.carried)
        info = workflow.info()
        if input.agent is not None:
            self._run = RunRef(
                input.agent, input.tracking_id, type(self).workflow_name, info.first_execution_run_id, info.run_id
            )
        step = AgentWorkflowStep(self)
        if self._run is not None and self._run.tracking_id is None:
            # Started for the agent by a schedule: the run tracks itself (durably, once).
            self._run.tracking_id = await workflow.execute_activity(
                Bridge.TRACK,
                TrackInput(self._run, input.params, input.metadata),
                activity_id="track",
                start_to_close_timeout=BRIDGE_TIMEOUT,
                retry_policy=BRIDGE_RETRY,
                summary="track run",
            )
        await self._set_status("running")
        try:
            event = AgentWorkflowEvent(
                # Validated before the start; after a redeploy the model may have changed.
                payload=self._parse_params(input.params),
                timestamp=info.start_time,
                instance_id=input.tracking_id or info.workflow_id,
                metadata=input.metadata,
            )
            result = await self.run(event, step)
        except workflow.NondeterminismError:
            raise  # fails the run (or, with strict_replay, its task): see __init_subclass__
        except Exception as err:
            await self._flush()
            if not self._reported:
                await step.report_error(err)
            if isinstance(err, ApplicationError | ActivityError):
                raise
            info_ = error_info(err)
            raise ApplicationError(info_["message"], type=info_["name"], non_retryable=True) from err
        await self._flush()
        if not self._reported:
            await step.report_complete(result)
        return result

    # ----- completed steps, and continue-as-new -----

    async def _durable(self, key: str, execute: Any) -> Any:
        """Run a named durable step once: one completed before a continue-as-new returns
        its recorded result instead of running again."""
        if key in self._memo:
            return self._memo[key]
        self._recalling = False
        await self._continue_as_new_if_long()
        value = await execute()
        self._memo[key] = value
        return value

    async def _durable_unnamed(self, kind: str, execute: Any) -> None:
        """The same for steps without a name or result (state writes, events): they are
        told apart by kind and order, which re-running the same code reproduces, so a
        count per kind is all a continuation needs."""
        n = self._counters.get(kind, 0) + 1
        if n > self._done.get(kind, 0):
            self._recalling = False
            await self._continue_as_new_if_long()  # carries the counts of completed ones
        self._counters[kind] = n
        if n > self._done.get(kind, 0):
            await execute(n)

    async def _continue_as_new_if_long(self) -> None:
        info = workflow.info()
        if info.get_current_history_length() < type(self).history_limit and not info.is_continue_as_new_suggested():
            return
        await self._flush()
        carried = {
            "memo": self._memo,
            "counts": self._counters,
            "events": [[e.type, e.payload, e.timestamp.isoformat(), e.id] for e in self._events],
            "consumed": self._consumed,
            "reported": self._reported,
            "paused": self._paused,
            "redeploys": self._redeploys,
            "controls": self._controls,
            "progress_seq": self._progress_seq,
        }
        workflow.continue_as_new(
            AgentWorkflowInput(
                params=self._input.params,
                agent=self._input.agent,
                metadata=self._input.metadata,
                tracking_id=self._run.tracking_id if self._run else self._input.tracking_id,
                carried=carried,
            )
        )

    def _restore(self, carried: dict[str, Any]) -> None:
        self._memo = dict(carried.get("memo") or {})
        self._done = dict(carried.get("counts") or {})
        self._recalling = bool(self._memo or self._done)
        self._events = [
            ReceivedEvent(t, p, datetime.fromisoformat(ts), id=rest[0] if rest else "")
            for t, p, ts, *rest in carried.get("events") or []
        ]
        self._consumed = list(carried.get("consumed") or [])
        self._reported = bool(carried.get("reported"))
        self._paused = bool(carried.get("paused"))
        self._redeploys = int(carried.get("redeploys") or 0)
        self._controls = int(carried.get("controls") or 0)
        self._progress_seq = int(carried.get("progress_seq") or 0)

    def _parse_params(self, params: dict[str, Any]) -> Any:
        model = type(self).params_model
        if model is None or model is dict or model is Any:
            return params
        from pydantic import TypeAdapter

        try:
            return TypeAdapter(model).validate_python(params)
        except Exception as err:  # validated at the start: the model changed since (a redeploy)
            raise ApplicationError(
                f"the run's params no longer validate against {type(self).__name__}'s params model "
                f"(changed since the run started?): {err}",
                type="ParamsError",
                non_retryable=True,
            ) from err

    async def _report(self, report: ReportInput) -> None:
        if self._reported:
            workflow.logger.warning("the run's outcome was already reported; ignoring another")
            return
        self._reported = True
        if report.run is None:
            return self._no_agent(f"report_{report.outcome}")
        await self._until_resumed()
        await workflow.execute_activity(
            Bridge.REPORT,
            report,
            activity_id=f"report_{report.outcome}",
            start_to_close_timeout=BRIDGE_TIMEOUT,
            retry_policy=BRIDGE_RETRY,
            summary=f"report_{report.outcome}",
        )

    async def _until_resumed(self) -> None:
        if self._paused:
            await self._flush_writes()
            await workflow.wait_condition(lambda: not self._paused)

    def _has_event(self, type_: str) -> bool:
        return any(e.type == type_ for e in self._events)

    def _take_event(self, type_: str) -> ReceivedEvent | None:
        for index, event in enumerate(self._events):
            if event.type == type_:
                if event.id:
                    self._consumed.append(event.id)
                return self._events.pop(index)
        return None

    async def _resumed(self, event: ReceivedEvent) -> None:
        """The run's wait ended with `event`. One its agent delivered (it has an id)
        needs no report, so no local activity holds the next step back: the agent marked
        the run `running` right after its signal, or noted the event as pending, and then
        the run's `waiting` made it `running` instead (`RunTracker.mark_resumed`).
        Without an id (sent around the agent, from Temporal's CLI, or by an agent of an
        earlier version), the run says so itself."""
        if event.id and workflow.patched(_RESUME_MARKED_BY_AGENT):
            return
        await self._set_status("running")

    async def _set_status(self, status: str, *, waiting_for: str | None = None, controls: int | None = None) -> None:
        if self._run is not None and not self._recalling:
            await self._flush_writes()
            # Progress goes out through the worker's outbox, on its own: a status report
            # must not overtake it, or a late progress write (which moves a row to
            # `running`) would undo `waiting`. Patched: runs whose history predates the
            # wait replay without it.
            if self._posted and workflow.patched(_STATUS_AFTER_PROGRESS):
                await self._delivered()
            taken = list(self._consumed)
            report = StatusInput(
                self._run, status, waiting_for, consumed=taken, progress_seq=self._progress_seq, controls=controls
            )
            if await self._local(Bridge.STATUS, report, f"status {status}"):
                # Recorded: the agent's fence holds them now. By id, not by count: a
                # signal handler's report may be in flight beside the run's own, and
                # ids taken after this report was made must stay for the next.
                self._consumed = [id for id in self._consumed if id not in taken]

    async def _local(self, activity: str, arg: Any, what: str) -> Any:
        try:
            return await workflow.execute_local_activity(
                activity,
                arg,
                start_to_close_timeout=_LOCAL_TIMEOUT,
                retry_policy=_LOCAL_RETRY,
                summary=what,
            )
        except FailureError as err:
            # A local activity's failure arrives as the activity's own error (an
            # ApplicationError, a TimeoutError), not wrapped in an ActivityError.
            if isinstance(err, TemporalCancelledError):
                raise  # the run is being cancelled: not ours to swallow
            workflow.logger.warning("%s did not reach the agent: %s", what, error_info(err))
            return None

    def _take_carried(self) -> list[CarriedWrite]:
        """The writes an activity starting now carries (see CarriedWritesInterceptor);
        none while a flush is applying earlier ones, so writes keep their order."""
        if self._writes_flushing.locked():
            return []
        taken, self._carried = self._carried, []
        return taken

    async def _flush_writes(self) -> None:
        """Apply the writes still waiting for an activity to carry them, each as its own
        local activity: before anything but an activity (a timer, a wait, a local
        activity, the run's end), so they are applied in order and before what follows."""
        if not self._carried:
            return
        async with self._writes_flushing:
            while self._carried:
                carried = self._carried.pop(0)
                await workflow.execute_local_activity(
                    Bridge.STATE,
                    carried.write,
                    activity_id=carried.id,
                    start_to_close_timeout=BRIDGE_TIMEOUT,
                    retry_policy=BRIDGE_RETRY,
                    summary=carried.id.split("#", 1)[0],
                )

    async def _delivered(self) -> None:
        """Wait until the progress this run posted has reached its agent (a local
        activity: it runs in the process that holds the run's outbox), so the agent and
        its clients hear of a call into the agent, or of the run's end, after the
        progress reported before it."""
        if self._posted:
            self._posted = False
            await self._local(Bridge.DELIVERED, _run_key(), "progress delivered")

    async def _flush(self) -> None:
        await self._flush_writes()
        await self._delivered()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
            self._pending.clear()

    def _no_agent(self, what: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            workflow.logger.info("%s does nothing: this run has no originating agent", what)


def take_carried_writes(instance: Any) -> list[CarriedWrite]:
    """For the worker's interceptor (activities._carried): the state writes an activity
    the workflow `instance` starts now carries; none for a workflow of no agent."""
    return instance._take_carried() if isinstance(instance, AgentWorkflow) else []


def carried_writes_handed_back(instance: Any) -> bool:
    """For the worker's interceptor: whether the activity the workflow `instance` starts
    now is a step's, which takes its carried writes back when they cannot be applied at
    once (see CARRIED_WRITES_HAND_BACK)."""
    return isinstance(instance, AgentWorkflow) and instance._hands_back_writes


def return_carried_writes(instance: Any, carried: list[CarriedWrite]) -> None:
    """For the worker's interceptor: an activity that carried `carried` ended without
    completing (cancelled, perhaps before it started, or failed): they go back first in
    line, for the next activity or flush to apply. Applied already by an attempt that
    started, they are not applied twice (each has its effect id)."""
    if isinstance(instance, AgentWorkflow):
        instance._carried[0:0] = carried


def run_of(instance: Any) -> RunRef | None:
    """For the worker's log context (activities._log_context): the agent run a workflow
    `instance` is, or None (a workflow of no agent)."""
    return instance._run if isinstance(instance, AgentWorkflow) else None


def _run_key() -> str:
    """The run's key in its worker's outbox."""
    info = workflow.info()
    return f"{info.workflow_id}/{info.run_id}"


def _short_json(value: Any, limit: int = 500) -> str:
    from pydantic_core import to_json

    text = to_json(value).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _AgentProxy:
    """`self.agent.method(*args)` -> the agent's method, run in the worker in the agent's
    turn. From workflow code it is a local activity (non-durable: a retried call may run
    again; a call that still fails raises in the workflow); from an inline step body it
    is a direct call, durable with the step (`step.do("save", lambda: self.agent.save(x))`)."""

    def __init__(self, owner: AgentWorkflow[Any, Any, Any]) -> None:
        self._owner = owner

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        async def call(*args: Any) -> Any:
            run = self._owner._run
            if not workflow.in_workflow():  # inside an inline step body (see workflows.inline)
                calls = AGENT_CALLS.get()
                if calls is None:
                    raise RuntimeError(f"self.agent.{method}() works in workflow code and inline step bodies only")
                return None if run is None else await calls(run, method, list(args))
            if run is None:
                return self._owner._no_agent(f"agent.{method}")
            await self._owner._flush_writes()  # the agent sees the run's writes so far
            await self._owner._delivered()  # and its progress reports
            return await workflow.execute_local_activity(
                Bridge.CALL,
                AgentCallInput(run, method, list(args)),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=_LOCAL_RETRY,
                summary=f"agent.{method}",
            )

        return call
