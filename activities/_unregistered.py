"""The worker's side of a run of a workflow type it does not register
(`workflows._unregistered`): one log line, and the schedule that started it paused."""

from __future__ import annotations

import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from workflows.contracts import Bridge, UnregisteredInput

log = structlog.get_logger("agents.worker")


class UnregisteredActivities:
    def __init__(self, temporal: Client) -> None:
        self._temporal = temporal

    @activity.defn(name=Bridge.UNREGISTERED)
    async def unregistered(self, input: UnregisteredInput) -> None:
        """Pause the schedule (with a note saying why) and log once; a retry of this
        activity finds the schedule paused and logs nothing more."""
        if input.schedule_id is None:
            log.error(input.message, workflow=input.workflow_type)
            return
        handle = self._temporal.get_schedule_handle(input.schedule_id)
        try:
            if (await handle.describe()).schedule.state.paused:
                return
            await handle.pause(note=f"paused by temporal-agents: {input.message}")
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        log.error(input.message, workflow=input.workflow_type, schedule=input.schedule_id, schedule_paused=True)
