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
from datetime import timedelta
from typing import Any, ClassVar, Generic, TypeVar

from pydantic_core import to_jsonable_python
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from ._durations import Duration
from ._errors import WorkflowRejectedError, WorkflowTerminatedError, error_info
from ._run import (
    BRIDGE_RETRY,
    BRIDGE_TIMEOUT,
    LOCAL_RETRY,
    ActiveRun,
    ReceivedEvent,
    RunState,
    cancelled_run,
    run_key,
)
from ._step import AgentWorkflowStep
from .contracts import (
    AgentCallInput,
    AgentRef,
    AgentWorkflowInput,
    Bridge,
    BroadcastInput,
    ProgressInput,
    ReportInput,
    RunRef,
    TrackInput,
    WorkflowEventSignal,
)
from .inline import AGENT_CALLS
from .outbox import post

AgentT = TypeVar("AgentT")
OtherT = TypeVar("OtherT")
Params = TypeVar("Params")
Progress = TypeVar("Progress")

_REPORTS_CONTROLS = "agents.reports-pause-and-resume"
_APPROVAL_STEP_NAME = "agents.approval-step-named-as-cloudflare"


@dataclass
class AgentWorkflowEvent(Generic[Params]):
    """What `run` receives: the validated params and where the run comes from."""

    payload: Params
    timestamp: Any
    instance_id: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Approval:
    """What `wait_for_approval` returns: the approval as it was sent (a rejection raises
    WorkflowRejectedError instead). Until 0.2 it returned only `metadata`: code written
    for that reads `.metadata` (a run in flight replays the same either way; only what
    its code does with the value changes)."""

    approved: bool
    reason: str | None = None
    """The approver's reason (`approve_workflow(id, reason=...)`, `POST .../approve`)."""
    metadata: Any = None
    """Whatever the approver attached."""


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
    matched by name (docs/how-to/redeploys.md). True:
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
        run, state = self.__run, self.__run.state
        if state.recalling:
            return  # catching up after continue-as-new: this was reported already
        # Live progress in Temporal UI (the run's current details), agent or not.
        workflow.set_current_details(f"**progress**: `{_short_json(progress)}`")
        if run.ref is None:
            return run.no_agent("report_progress")
        state.posted = True  # also on replay: it decides a command (see ActiveRun.delivered)
        state.progress_seq += 1  # also on replay: status reports carry the count
        if workflow.unsafe.is_replaying():
            return  # reported when this code first ran
        # A copy of the value: the caller may reuse its dict.
        report = ProgressInput(run.ref, to_jsonable_python(progress), seq=state.progress_seq)
        info = workflow.info()
        if not post(info.task_queue, run_key(), report):
            await run.local(Bridge.PROGRESS, report, "report_progress")

    def broadcast_to_clients(self, message: Any) -> asyncio.Task[Any] | None:
        """Send `message` to every WebSocket client of the agent (awaiting is optional)."""
        run = self.__run
        if run.ref is None:
            return run.no_agent("broadcast_to_clients")
        if run.state.recalling:
            return None  # sent already, before continue-as-new
        task = asyncio.ensure_future(self.__broadcast(BroadcastInput(run.ref, message)))
        run.state.pending.append(task)
        return task

    async def __broadcast(self, message: BroadcastInput) -> None:
        await self.__run.flush_writes()  # clients hear of state written before the broadcast first
        await self.__run.local(Bridge.BROADCAST, message, "broadcast")

    @property
    def workflow_id(self) -> str:
        """This run's id: what `run_workflow` returned and every control takes (for a
        run started without an agent, its Temporal workflow id)."""
        ref = self.__run.ref
        if ref is not None and ref.tracking_id:
            return ref.tracking_id
        return self.__run.input.tracking_id or workflow.info().workflow_id

    @property
    def agent(self) -> AgentT:
        """Call the originating agent's methods: `await self.agent.save(x)`."""
        return typing.cast(AgentT, _AgentProxy(self.__run))

    def get_agent(self, agent: type[OtherT] | str, name: str) -> OtherT:
        """Another agent, by class (or agent type) and name, as Cloudflare's
        `getAgentByName` from a workflow: `await self.get_agent(Billing, "acme").charge(5)`
        runs `charge` in that agent's turn, in the worker, as `self.agent` calls do (a
        local activity from workflow code, a direct call inside an inline step body).
        Only public methods of the agent's own class; what the method raises ends the
        call at once, raised here as an ApplicationError whose `type` is the error's
        class name (`except ApplicationError as err: err.type == "ValueError"`)."""
        agent_type = agent if isinstance(agent, str) else agent.agent_type
        return typing.cast(OtherT, _AgentProxy(self.__run, AgentRef(agent_type, name)))

    async def wait_for_approval(
        self,
        step: AgentWorkflowStep,
        *,
        timeout: Duration | None = None,
        event_type: str = "approval",
        name: str | None = None,
    ) -> Approval:
        """Wait for `approve_workflow` / `reject_workflow`; return the approval (its
        `reason` and `metadata`).

        A rejection raises WorkflowRejectedError(reason). `event_type`: the event that
        carries the decision (`approval`, what the approve/reject controls send); `name`:
        the step's name, `wait-for-approval` unless given, as on Cloudflare (numbered when
        used again: `wait-for-approval-1`, ...; runs started before it was named so keep
        `approval`).
        """
        if name is None:
            # A run that continued (on new code, or as new) with approvals done under the
            # old name keeps it, so those count as done and are not asked again.
            memo = self.__run.state.memo
            legacy = any(key == "wait:approval" or key.startswith("wait:approval-") for key in memo)
            name = "approval" if legacy or not workflow.patched(_APPROVAL_STEP_NAME) else "wait-for-approval"
        event = await step.wait_for_event(name, type=event_type, timeout=timeout)
        payload = event.payload if isinstance(event.payload, dict) else {}
        if not payload.get("approved"):
            raise WorkflowRejectedError(payload.get("reason"))
        reason = payload.get("reason")
        return Approval(True, reason if isinstance(reason, str) else None, payload.get("metadata"))

    # ----- Temporal handlers -----

    @workflow.signal(name=Bridge.SIGNAL_EVENT)
    def _on_event(self, event: WorkflowEventSignal) -> None:
        received = ReceivedEvent(event.type, event.payload, workflow.now(), event.resumes, event.id)
        self.__run.state.events.append(received)

    # A pause or resume that comes as the run ends: its status report is moot (the run's
    # own end reports last), so the handler is let go without the SDK's warning.
    @workflow.signal(name=Bridge.SIGNAL_PAUSE, unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def _on_pause(self) -> None:
        run, state = self.__run, self.__run.state
        state.paused = True
        # The run says what it did, numbered: pauses and resumes from several API
        # processes reach it in one order (its history), while the controls' own marks
        # land in Redis in any order; the numbered report puts the row right.
        if workflow.patched(_REPORTS_CONTROLS):
            state.controls += 1
            await run.set_status("paused", controls=state.controls)

    @workflow.signal(name=Bridge.SIGNAL_RESUME, unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def _on_resume(self) -> None:
        run, state = self.__run, self.__run.state
        state.paused = False
        if workflow.patched(_REPORTS_CONTROLS):
            state.controls += 1
            status = "running" if state.waiting_for is None else "waiting"
            await run.set_status(status, waiting_for=state.waiting_for, controls=state.controls)
        elif state.waiting_for is not None:  # history from before the numbered reports
            await run.set_status("waiting", waiting_for=state.waiting_for)

    # ----- internals -----

    def __init__(self) -> None:
        # Name-mangled (`_AgentWorkflow__run`): a subclass's own attributes cannot clash.
        self.__run = ActiveRun(history_limit=type(self).history_limit, carries_writes=type(self)._carries_writes)

    async def _execute(self, input: AgentWorkflowInput) -> Any:
        run = self.__run
        run.input = input
        if input.carried:
            run.state = RunState.restored(input.carried)
        info = workflow.info()
        if input.agent is not None:
            run.ref = RunRef(
                input.agent, input.tracking_id, type(self).workflow_name, info.first_execution_run_id, info.run_id
            )
        step = AgentWorkflowStep(run)
        if run.ref is not None and run.ref.tracking_id is None:
            # Started for the agent by a schedule: the run tracks itself (durably, once).
            run.ref.tracking_id = await workflow.execute_activity(
                Bridge.TRACK,
                TrackInput(run.ref, input.params, input.metadata),
                activity_id="track",
                start_to_close_timeout=BRIDGE_TIMEOUT,
                retry_policy=BRIDGE_RETRY,
                summary="track run",
            )
        await run.set_status("running")
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
        except (asyncio.CancelledError, Exception) as err:
            if cancelled_run(err):
                # A terminate with rollback (`terminate_workflow(id, rollback=True)`), or
                # Cancel in Temporal UI: the undos run, then the run says it is terminated
                # and ends cancelled.
                if not run.state.reported:
                    await self.__roll_back_terminated(step)
                raise
            if isinstance(err, asyncio.CancelledError):
                raise  # a history from before that patch: the run just ends
            await run.flush()
            if not run.state.reported:
                await step.roll_back(err)  # the completed steps' undos, newest first, each once
                await step.report_error(err)
            if isinstance(err, ApplicationError | ActivityError):
                raise
            info_ = error_info(err)
            raise ApplicationError(info_["message"], type=info_["name"], non_retryable=True) from err
        await run.flush()
        if not run.state.reported:
            await step.report_complete(result)
        return result

    async def __roll_back_terminated(self, step: AgentWorkflowStep) -> None:
        run = self.__run
        run.state.paused = False  # the run is ending: a pause no longer holds its undos
        await run.flush()
        await step.roll_back(WorkflowTerminatedError(workflow.cancellation_reason()))
        await run.report(ReportInput(run.ref, "terminated"))

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


def active_run(instance: Any) -> ActiveRun | None:
    """The machinery of the run a workflow `instance` is, or None for a workflow that is
    not an AgentWorkflow. For the worker's interceptors (`activities`): the state writes
    an activity carries, the run's identity for the log context."""
    return instance._AgentWorkflow__run if isinstance(instance, AgentWorkflow) else None


def _short_json(value: Any, limit: int = 500) -> str:
    from pydantic_core import to_json

    text = to_json(value).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _AgentProxy:
    """`self.agent.method(*args)` -> the agent's method, run in the worker in the agent's
    turn. From workflow code it is a local activity (non-durable: a retried call may run
    again; a call that still fails raises in the workflow); from an inline step body it
    is a direct call, durable with the step (`step.do("save", lambda: self.agent.save(x))`)."""

    def __init__(self, run: ActiveRun, target: AgentRef | None = None) -> None:
        self._run = run
        self._target = target  # another agent (get_agent); None: the run's own

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        async def call(*args: Any) -> Any:
            target = self._target
            # Another agent is called for any run, one started without an agent too (the
            # bridge then names the callee as the caller).
            run = self._run.ref or (RunRef(target, None, "") if target is not None else None)
            if not workflow.in_workflow():  # inside an inline step body (see workflows.inline)
                calls = AGENT_CALLS.get()
                if calls is None:
                    raise RuntimeError(f"self.agent.{method}() works in workflow code and inline step bodies only")
                return None if run is None else await calls(run, method, list(args), target)
            if run is None:
                return self._run.no_agent(f"agent.{method}")
            if target is None:
                await self._run.flush_writes()  # the agent sees the run's writes so far
                await self._run.delivered()  # and its progress reports
            who = "agent" if target is None else f"{target.agent_type}/{target.name}"
            return await workflow.execute_local_activity(
                Bridge.CALL,
                AgentCallInput(run, method, list(args), target),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=LOCAL_RETRY,
                summary=f"{who}.{method}",
            )

        return call
