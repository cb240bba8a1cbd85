"""`ActiveRun`: the machinery of one run, apart from the class users subclass.

`AgentWorkflow` is what a user writes against; `AgentWorkflowStep` is what they call.
Both drive one `ActiveRun`: its `RunState` (every mutable field of the run, in one
object: what continue-as-new carries, what a redeploy's continuation restores) and the
mechanisms that use it: named steps done once, continue-as-new, status reports, state
writes carried by the next activity, and the wait for progress delivery.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import CancelledError as TemporalCancelledError
from temporalio.exceptions import FailureError, is_cancelled_exception

from ._errors import error_info
from .contracts import AgentWorkflowInput, Bridge, CarriedWrite, ReportInput, RunRef, StatusInput

# Bridge activities write to Redis: retried until Redis is back, never given up on.
BRIDGE_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10))
BRIDGE_TIMEOUT = timedelta(seconds=30)
# Non-durable bridge calls: short, a few tries, and a failure never fails the run.
LOCAL_TIMEOUT = timedelta(seconds=10)
LOCAL_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=200))
_STATUS_AFTER_PROGRESS = "agents.status-after-progress"
_RESUME_MARKED_BY_AGENT = "agents.resume-marked-by-agent"


@dataclass
class ReceivedEvent:
    """An event delivered to `wait_for_event`."""

    type: str
    payload: Any
    timestamp: datetime
    resumes: bool = False
    """An agent of an earlier version marked the run `running` as it delivered this."""
    id: str = ""
    """The event's id (see WorkflowEventSignal.id); empty from older agents."""


@dataclass
class RunState:
    """Every mutable field of a run. The first group is carried by continue-as-new (and
    by a redeploy's continuation, see `agents.control.redeploy`); the rest lives and
    dies with one execution."""

    memo: dict[str, Any] = field(default_factory=dict)
    """Named steps completed: their results by key (`do:fetch`)."""
    done: dict[str, int] = field(default_factory=dict)
    """Unnamed steps (state writes, events) completed before this execution, per kind."""
    events: list[ReceivedEvent] = field(default_factory=list)
    """Events received and not taken yet."""
    consumed: list[str] = field(default_factory=list)
    """Ids of events taken since the last status report (see StatusInput.consumed)."""
    reported: bool = False
    """The run's outcome was reported."""
    paused: bool = False
    redeploys: int = 0
    """Times the run continued on changed code."""
    controls: int = 0
    """Pause and resume signals taken (see StatusInput.controls)."""
    progress_seq: int = 0
    """Progress reports posted by this run (see ProgressInput.seq)."""

    counters: dict[str, int] = field(default_factory=dict)
    """Unnamed steps reached in this execution, per kind."""
    recalling: bool = False
    """Re-running code a continuation already did (completed steps answer from `memo`)."""
    waiting_for: str | None = None
    carried: list[CarriedWrite] = field(default_factory=list)
    """State writes waiting for the run's next activity to carry them."""
    hands_back_writes: bool = False
    """True while a step starts its activity (see CARRIED_WRITES_HAND_BACK)."""
    posted: bool = False
    """Progress posted to the worker's outbox since the last wait for its delivery."""
    pending: list[asyncio.Future[Any]] = field(default_factory=list)
    """Broadcasts not awaited by the code that sent them."""
    warned: set[str] = field(default_factory=set)

    def carry(self) -> dict[str, Any]:
        """What continue-as-new carries (see `restored`)."""
        return {
            "memo": self.memo,
            "counts": self.counters,
            "events": [[e.type, e.payload, e.timestamp.isoformat(), e.id] for e in self.events],
            "consumed": self.consumed,
            "reported": self.reported,
            "paused": self.paused,
            "redeploys": self.redeploys,
            "controls": self.controls,
            "progress_seq": self.progress_seq,
        }

    @classmethod
    def restored(cls, carried: dict[str, Any]) -> RunState:
        memo, done = dict(carried.get("memo") or {}), dict(carried.get("counts") or {})
        return cls(
            memo=memo,
            done=done,
            recalling=bool(memo or done),
            events=[
                ReceivedEvent(t, p, datetime.fromisoformat(ts), id=rest[0] if rest else "")
                for t, p, ts, *rest in carried.get("events") or []
            ],
            consumed=list(carried.get("consumed") or []),
            reported=bool(carried.get("reported")),
            paused=bool(carried.get("paused")),
            redeploys=int(carried.get("redeploys") or 0),
            controls=int(carried.get("controls") or 0),
            progress_seq=int(carried.get("progress_seq") or 0),
        )


class ActiveRun:
    """One run being executed: its state, the agent run it is (`ref`, None for a
    workflow started without an agent), and the mechanics the step API stands on.

    Package-internal, with one public door: the worker's interceptors reach it through
    `workflows.active_run(instance)` (carried writes, log context)."""

    def __init__(self, *, history_limit: int, carries_writes: bool) -> None:
        self.state = RunState()
        self.ref: RunRef | None = None
        self.input = AgentWorkflowInput()
        self.history_limit = history_limit
        self.carries_writes = carries_writes
        """The run's state writes may ride on its next activity (an agent type with no
        state hooks, see `AgentWorkflow`)."""
        self._writes_flushing = asyncio.Lock()

    # ----- named steps done once, and continue-as-new -----

    async def durable(self, key: str, execute: Any) -> Any:
        """Run a named durable step once: one completed before a continue-as-new returns
        its recorded result instead of running again."""
        state = self.state
        if key in state.memo:
            return state.memo[key]
        state.recalling = False
        await self._continue_as_new_if_long()
        value = await execute()
        state.memo[key] = value
        return value

    async def durable_unnamed(self, kind: str, execute: Any) -> None:
        """The same for steps without a name or result (state writes, events): they are
        told apart by kind and order, which re-running the same code reproduces, so a
        count per kind is all a continuation needs."""
        state = self.state
        n = state.counters.get(kind, 0) + 1
        if n > state.done.get(kind, 0):
            state.recalling = False
            await self._continue_as_new_if_long()  # carries the counts of completed ones
        state.counters[kind] = n
        if n > state.done.get(kind, 0):
            await execute(n)

    async def _continue_as_new_if_long(self) -> None:
        info = workflow.info()
        if info.get_current_history_length() < self.history_limit and not info.is_continue_as_new_suggested():
            return
        await self.flush()
        workflow.continue_as_new(
            AgentWorkflowInput(
                params=self.input.params,
                agent=self.input.agent,
                metadata=self.input.metadata,
                tracking_id=self.ref.tracking_id if self.ref else self.input.tracking_id,
                carried=self.state.carry(),
            )
        )

    # ----- events, pauses, the outcome -----

    async def until_resumed(self) -> None:
        if self.state.paused:
            await self.flush_writes()
            await workflow.wait_condition(lambda: not self.state.paused)

    def has_event(self, type_: str) -> bool:
        return any(e.type == type_ for e in self.state.events)

    def take_event(self, type_: str) -> ReceivedEvent | None:
        for index, event in enumerate(self.state.events):
            if event.type == type_:
                if event.id:
                    self.state.consumed.append(event.id)
                return self.state.events.pop(index)
        return None

    async def resumed(self, event: ReceivedEvent) -> None:
        """The run's wait ended with `event`. One its agent delivered (it has an id)
        needs no report, so no local activity holds the next step back: the agent marked
        the run `running` right after its signal, or noted the event as pending, and then
        the run's `waiting` made it `running` instead (`RunTracker.mark_resumed`).
        Without an id (sent around the agent, from Temporal's CLI, or by an agent of an
        earlier version), the run says so itself."""
        if event.id and workflow.patched(_RESUME_MARKED_BY_AGENT):
            return
        await self.set_status("running")

    async def report(self, report: ReportInput) -> None:
        """The run's outcome, to its agent, once."""
        if self.state.reported:
            workflow.logger.warning("the run's outcome was already reported; ignoring another")
            return
        self.state.reported = True
        if report.run is None:
            return self.no_agent(f"report_{report.outcome}")
        await self.until_resumed()
        await workflow.execute_activity(
            Bridge.REPORT,
            report,
            activity_id=f"report_{report.outcome}",
            start_to_close_timeout=BRIDGE_TIMEOUT,
            retry_policy=BRIDGE_RETRY,
            summary=f"report_{report.outcome}",
        )

    async def set_status(self, status: str, *, waiting_for: str | None = None, controls: int | None = None) -> None:
        state = self.state
        if self.ref is not None and not state.recalling:
            await self.flush_writes()
            # Progress goes out through the worker's outbox, on its own: a status report
            # must not overtake it, or a late progress write (which moves a row to
            # `running`) would undo `waiting`. Patched: runs whose history predates the
            # wait replay without it.
            if state.posted and workflow.patched(_STATUS_AFTER_PROGRESS):
                await self.delivered()
            taken = list(state.consumed)
            report = StatusInput(
                self.ref, status, waiting_for, consumed=taken, progress_seq=state.progress_seq, controls=controls
            )
            if await self.local(Bridge.STATUS, report, f"status {status}"):
                # Recorded: the agent's fence holds them now. By id, not by count: a
                # signal handler's report may be in flight beside the run's own, and
                # ids taken after this report was made must stay for the next.
                state.consumed = [id for id in state.consumed if id not in taken]

    async def local(self, activity: str, arg: Any, what: str) -> Any:
        """A non-durable bridge call (a local activity): a failure is logged, never
        fails the run; None then."""
        try:
            return await workflow.execute_local_activity(
                activity,
                arg,
                start_to_close_timeout=LOCAL_TIMEOUT,
                retry_policy=LOCAL_RETRY,
                summary=what,
            )
        except FailureError as err:
            # A local activity's failure arrives as the activity's own error (an
            # ApplicationError, a TimeoutError), not wrapped in an ActivityError.
            if isinstance(err, TemporalCancelledError):
                raise  # the run is being cancelled: not ours to swallow
            workflow.logger.warning("%s did not reach the agent: %s", what, error_info(err))
            return None

    # ----- state writes carried by the next activity -----

    def take_carried(self) -> list[CarriedWrite]:
        """The writes an activity starting now carries (see CarriedWritesInterceptor);
        none while a flush is applying earlier ones, so writes keep their order."""
        if self._writes_flushing.locked():
            return []
        taken, self.state.carried = self.state.carried, []
        return taken

    def return_carried(self, carried: list[CarriedWrite]) -> None:
        """An activity that carried `carried` ended without completing (cancelled,
        perhaps before it started, or failed): they go back first in line, for the next
        activity or flush to apply. Applied already by an attempt that started, they are
        not applied twice (each has its effect id)."""
        self.state.carried[0:0] = carried

    @property
    def hands_back_writes(self) -> bool:
        """Whether the activity starting now is a step's, which takes its carried writes
        back when they cannot be applied at once (see CARRIED_WRITES_HAND_BACK)."""
        return self.state.hands_back_writes

    async def flush_writes(self) -> None:
        """Apply the writes still waiting for an activity to carry them, each as its own
        local activity: before anything but an activity (a timer, a wait, a local
        activity, the run's end), so they are applied in order and before what follows."""
        if not self.state.carried:
            return
        async with self._writes_flushing:
            while self.state.carried:
                carried = self.state.carried.pop(0)
                await workflow.execute_local_activity(
                    Bridge.STATE,
                    carried.write,
                    activity_id=carried.id,
                    start_to_close_timeout=BRIDGE_TIMEOUT,
                    retry_policy=BRIDGE_RETRY,
                    summary=carried.id.split("#", 1)[0],
                )

    # ----- progress delivery -----

    async def delivered(self) -> None:
        """Wait until the progress this run posted has reached its agent (a local
        activity: it runs in the process that holds the run's outbox), so the agent and
        its clients hear of a call into the agent, or of the run's end, after the
        progress reported before it."""
        if self.state.posted:
            self.state.posted = False
            await self.local(Bridge.DELIVERED, run_key(), "progress delivered")

    async def flush(self) -> None:
        await self.flush_writes()
        await self.delivered()
        if self.state.pending:
            await asyncio.gather(*self.state.pending, return_exceptions=True)
            self.state.pending.clear()

    def no_agent(self, what: str) -> None:
        if what not in self.state.warned:
            self.state.warned.add(what)
            workflow.logger.info("%s does nothing: this run has no originating agent", what)


ROLLS_BACK_ON_CANCEL = "agents.cancel-rolls-back"
"""The patch under which a cancelled run undoes its steps and reports itself terminated."""


def cancelled_run(err: BaseException) -> bool:
    """Whether `err` is the run's own cancellation reaching workflow code (a terminate with
    rollback, or Cancel in Temporal UI), wherever it was: a step's activity, a sleep, a
    wait. The run then undoes its steps (AgentWorkflow._execute); a history from before
    that took it as the step's failure, and replays so."""
    return (
        workflow.cancellation_reason() is not None
        and is_cancelled_exception(err)
        and workflow.patched(ROLLS_BACK_ON_CANCEL)
    )


def run_key() -> str:
    """The run's key in its worker's outbox."""
    info = workflow.info()
    return f"{info.workflow_id}/{info.run_id}"
