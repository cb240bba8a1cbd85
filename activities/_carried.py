"""State writes that ride on a run's next activity (see `AgentWorkflowStep._write`).

Workflow side: when a run starts an activity on its own task queue, the writes it made
since its last command go into the activity's header, so they are recorded in the
run's history with the activity and cost no command of their own. Worker side: before
the activity's own code runs, each carried write is applied once (keyed by the write's
id, as the local activity that would otherwise apply it is), retried while Redis is
away or the agent's turn is held: a write's trouble must not count as the step failing.
A step's activity tries them for a moment, then hands them back to the run, which applies
them on their own and starts the step's activity again (see CARRIED_WRITES_HAND_BACK);
any other activity retries them until they land.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from agents import REDIS_ERRORS, AgentBusyError
from workflows import active_run
from workflows.contracts import (
    CARRIED_WRITES_HAND_BACK,
    CARRIED_WRITES_HEADER,
    CARRIED_WRITES_NOT_APPLIED,
    CarriedWrite,
    StateWriteInput,
)

log = structlog.get_logger("agents.bridge")

_RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0)
"""Seconds between attempts at a carried write (the last repeats until the activity's
own timeout or cancellation ends the attempt)."""

_HAND_BACK_AFTER = 2.0
"""Seconds a step's first attempt tries its carried writes before handing them back to
the run (at most half the step's timeout): a turn held for a moment costs no round trip,
an outage costs none of the step's tries."""

_RETURNED = "agents.carried-writes-returned"

ApplyWrite = Callable[[StateWriteInput, str], Awaitable[Any]]
"""Applies one write under an effect id (`BridgeActivities.apply_write`)."""


class _Outbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> Any:
        carried: list[CarriedWrite] = []
        run = active_run(workflow.instance())
        if run is not None and input.task_queue in (None, workflow.info().task_queue):
            carried = run.take_carried()
            if carried:  # only this worker's activities know to apply them
                payload = workflow.payload_converter().to_payload(carried)
                input.headers = {**input.headers, CARRIED_WRITES_HEADER: payload}
                if run.hands_back_writes:
                    input.headers[CARRIED_WRITES_HAND_BACK] = workflow.payload_converter().to_payload(True)
                # Temporal UI shows the summary: say what the activity applies first.
                input.summary = f"{input.summary or input.activity} (+ {', '.join(c.id for c in carried)})"
        handle = super().start_activity(input)
        if carried:
            # An activity cancelled before it started never applied them: they must not
            # be lost (nor counted done) with it. Back in line unless it completed.
            def back_unless_completed(done: Any) -> None:
                # Patched: a history from before would not replay the flush this adds.
                if (done.cancelled() or done.exception() is not None) and workflow.patched(_RETURNED):
                    run.return_carried(carried)

            handle.add_done_callback(back_unless_completed)
        return handle


class _WorkflowInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))


class _ActivityInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, apply: ApplyWrite) -> None:
        super().__init__(next)
        self._apply = apply

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        header = input.headers.get(CARRIED_WRITES_HEADER)
        if header is not None:
            info = activity.info()
            give_up_at = None
            # A later attempt finds them applied by the first (one marker check each);
            # only the first hands them back, so the step's tries are not reset.
            if CARRIED_WRITES_HAND_BACK in input.headers and info.attempt == 1:
                budget = _HAND_BACK_AFTER
                if info.start_to_close_timeout is not None:
                    budget = min(budget, info.start_to_close_timeout.total_seconds() / 2)
                give_up_at = asyncio.get_running_loop().time() + budget
            for carried in activity.payload_converter().from_payload(header, list[CarriedWrite]):
                effect_id = f"{info.workflow_id}:{info.workflow_run_id}:{carried.id}"
                await self._apply_once(carried, effect_id, give_up_at)
        return await super().execute_activity(input)

    async def _apply_once(self, carried: CarriedWrite, effect_id: str, give_up_at: float | None) -> None:
        loop = asyncio.get_running_loop()
        not_yet: tuple[type[BaseException], ...] = (*REDIS_ERRORS, AgentBusyError)
        if give_up_at is not None:
            not_yet += (TimeoutError,)  # the wait for a held turn, cut at the hand-back
        attempt = 0
        while True:
            try:  # a refusal (an agent whose hooks the workflow did not know of) fails the step
                if give_up_at is None:
                    await self._apply(carried.write, effect_id)
                else:
                    await asyncio.wait_for(self._apply(carried.write, effect_id), max(give_up_at - loop.time(), 0))
                return
            except not_yet as err:
                delay = _RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)]
                if give_up_at is not None and loop.time() + delay >= give_up_at:
                    log.warning("carried state write not applied yet; handed back to the run", write=carried.id)
                    raise ApplicationError(
                        f"state write {carried.id} not applied yet ({err!r}): the run applies it on its own, "
                        "then starts the step again",
                        type=CARRIED_WRITES_NOT_APPLIED,
                        non_retryable=True,  # the step starts its activity again itself
                    ) from err
                log.warning("carried state write not applied yet; retrying", write=carried.id, error=repr(err))
                attempt += 1
                await asyncio.sleep(delay)


class CarriedWritesInterceptor(Interceptor):
    def __init__(self, apply: ApplyWrite) -> None:
        self._apply = apply

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityInbound(next, self._apply)

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _WorkflowInbound
