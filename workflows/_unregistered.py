"""A workflow type no worker on the task queue registers.

A Temporal Schedule outlives the app that made it: the demo's `sync_data` schedule, left
in `.data/` by a first `make dev`, kept starting runs after the user loaded their own
app instead, and each run's workflow task failed and retried with a full traceback, for
ever. This dynamic workflow takes every type the worker does not register: the run fails
at once with one line naming the type, and a schedule that started it is paused with a
note (visible in Temporal UI and `GET .../schedules`) until someone resumes or deletes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import workflow
from temporalio.common import RawValue, SearchAttributeKey
from temporalio.exceptions import ApplicationError

from ._run import BRIDGE_RETRY, BRIDGE_TIMEOUT
from .contracts import Bridge, UnregisteredInput

SCHEDULED_BY = SearchAttributeKey.for_keyword("TemporalScheduledById")
"""Set by Temporal on every run a Schedule starts: the schedule's id."""


@workflow.defn(dynamic=True)
class UnregisteredWorkflow:
    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> None:
        info = workflow.info()
        schedule = info.typed_search_attributes.get(SCHEDULED_BY)
        message = (
            f"no worker on task queue {info.task_queue!r} registers workflow {info.workflow_type!r}: "
            "load the module that defines it (AGENT_MODULES), or delete what starts it"
        )
        await workflow.execute_activity(
            Bridge.UNREGISTERED,
            UnregisteredInput(info.workflow_type, message, schedule),
            start_to_close_timeout=BRIDGE_TIMEOUT,
            retry_policy=BRIDGE_RETRY,
            summary="unregistered workflow",
        )
        if schedule:
            message += f" (its schedule {schedule!r} is paused)"
        raise ApplicationError(message, type="WorkflowNotRegistered", non_retryable=True)
