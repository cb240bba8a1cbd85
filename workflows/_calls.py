"""The framework's own workflows that call agent methods later: a scheduled call
(`Agent.schedule`) and an agent's queue of calls (`Agent.queue`).

Both are durable timers and loops on Temporal, visible in Temporal UI: a one-shot call is
one workflow started with a start delay (nothing runs and nothing polls until its time),
a cron or interval call is a Temporal Schedule that starts one each time, and an agent's
queue is one workflow that runs the calls one at a time while there are any. The method
itself runs in an activity, in the agent's turn, retried with backoff a bounded number
of times.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeout

from ._errors import error_info
from ._run import BRIDGE_RETRY, BRIDGE_TIMEOUT
from .contracts import Bridge, MethodCallInput, QueuedCallRef, QueueInput

CALL_TIMEOUT = timedelta(minutes=5)
"""How long one try of a scheduled or queued method may take."""
QUEUE_IDLE = timedelta(seconds=60)
"""How long an agent's queue workflow waits for more calls before it completes."""
_QUEUE_RUN_LENGTH = 500
"""Calls per run of the queue workflow before it continues as new (bounded history)."""


def call_retry(call: MethodCallInput | QueuedCallRef) -> RetryPolicy:
    """A failing call is tried again after `base_delay`, then twice as long each time, at
    most `max_delay` apart (1, 2, 4 ... s, at most a minute, unless the call said)."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=call.base_delay),
        backoff_coefficient=2,
        maximum_interval=timedelta(seconds=call.max_delay),
        maximum_attempts=max(1, call.attempts),
    )


@workflow.defn(name=Bridge.METHOD_CALL_WORKFLOW)
class MethodCallWorkflow:
    """Calls `input.method(input.payload)` on the agent once it runs."""

    @workflow.run
    async def run(self, input: MethodCallInput) -> None:
        try:
            # A local activity: the call runs in the worker that runs this workflow task,
            # one task for the whole firing instead of three (half the server's work).
            await workflow.execute_local_activity(
                Bridge.CALL_METHOD,
                input,
                start_to_close_timeout=CALL_TIMEOUT,
                retry_policy=call_retry(input),
                summary=input.method,
            )
        except (ActivityError, ApplicationError, TemporalTimeout) as err:  # a local activity's own error
            workflow.logger.warning(
                "scheduled call %s gave up after %d tries: %s", input.method, input.attempts, error_info(err)
            )
            if not input.recurring:  # the one-shot is spent either way: take it off the list
                await workflow.execute_activity(
                    Bridge.FORGET_CALL,
                    input,
                    start_to_close_timeout=BRIDGE_TIMEOUT,
                    retry_policy=BRIDGE_RETRY,
                    summary="forget",
                )


@workflow.defn(name=Bridge.QUEUE_WORKFLOW)
class AgentQueueWorkflow:
    """Runs an agent's queued calls one at a time, in the order they were queued."""

    def __init__(self) -> None:
        self._woken = False

    @workflow.signal(name=Bridge.SIGNAL_WAKE)
    def wake(self) -> None:
        """A call was queued (signal-with-start by `Agent.queue`)."""
        self._woken = True

    @workflow.run
    async def run(self, input: QueueInput) -> int:
        done = input.done
        ran = 0
        self._woken = False  # a wake sent before this read is covered by the read
        head: QueuedCallRef | None = await self._bridge(Bridge.NEXT_QUEUED, input.agent, "next")
        while True:
            if head is None:
                try:
                    await workflow.wait_condition(lambda: self._woken, timeout=QUEUE_IDLE)
                except TimeoutError:
                    return done  # idle: the next `queue` starts a new run
                self._woken = False
                head = await self._bridge(Bridge.NEXT_QUEUED, input.agent, "next")
                continue
            self._woken = False
            try:
                head = await workflow.execute_activity(
                    Bridge.RUN_QUEUED,
                    head,
                    result_type=QueuedCallRef | None,  # type: ignore[arg-type]
                    start_to_close_timeout=CALL_TIMEOUT,
                    retry_policy=call_retry(head),
                    summary=head.method,
                )
            except ActivityError as err:
                workflow.logger.warning(
                    "queued call %s dropped after %d tries: %s", head.method, head.attempts, error_info(err)
                )
                head = await self._bridge(Bridge.DROP_QUEUED, head, "drop")
            done += 1
            ran += 1
            if ran >= _QUEUE_RUN_LENGTH or workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(QueueInput(input.agent, done))

    async def _bridge(self, activity: str, arg: object, what: str) -> QueuedCallRef | None:
        return await workflow.execute_activity(
            activity,
            arg,
            result_type=QueuedCallRef | None,  # type: ignore[arg-type]
            start_to_close_timeout=BRIDGE_TIMEOUT,
            retry_policy=BRIDGE_RETRY,
            summary=what,
        )
