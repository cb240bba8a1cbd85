"""A schedule (or a start) of a workflow type no worker registers: the demo's schedule,
left in `.data/` by a first `make dev`, kept firing `sync_data` after the user loaded
their own app, each run's workflow task failing with a full traceback, for ever."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
    WorkflowFailureError,
)

from agents import Settings
from tests.helpers import eventually

pytestmark = pytest.mark.usefixtures("worker")


async def test_a_schedule_of_an_unregistered_workflow_runs_once_fails_in_one_line_and_is_paused(
    client: Client, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    schedule_id = f"orphan-{uuid.uuid4().hex[:8]}"
    action = ScheduleActionStartWorkflow("no_such_flow", id=f"{schedule_id}-run", task_queue=settings.task_queue)
    spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=2))])
    caplog.set_level(logging.WARNING)
    with structlog.testing.capture_logs() as logs:
        handle = await client.create_schedule(schedule_id, Schedule(action=action, spec=spec), trigger_immediately=True)
        try:
            described = await eventually(handle.describe, lambda d: d.schedule.state.paused, what="schedule paused")
            assert "no_such_flow" in described.schedule.state.note and "AGENT_MODULES" in described.schedule.state.note
            run = client.get_workflow_handle(described.info.recent_actions[0].action.workflow_id)
            with pytest.raises(WorkflowFailureError) as failed:
                await run.result()
            assert "registers workflow 'no_such_flow'" in str(failed.value.cause)
            assert "is paused" in str(failed.value.cause)
        finally:
            await handle.delete()
    said = [e for e in logs if "no_such_flow" in e["event"]]
    assert len(said) == 1 and said[0]["log_level"] == "error" and said[0]["schedule_paused"], logs
    assert "exc_info" not in said[0]
    # No workflow task failed (each failure was logged with a traceback and retried).
    assert not [r for r in caplog.records if r.name.startswith("temporalio") and r.levelno >= logging.WARNING]


async def test_a_start_of_an_unregistered_workflow_fails_at_once(client: Client, settings: Settings) -> None:
    run = await client.start_workflow(
        "nor_this_one", id=f"stray-{uuid.uuid4().hex[:8]}", task_queue=settings.task_queue
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await run.result()
    assert "registers workflow 'nor_this_one'" in str(failed.value.cause)
