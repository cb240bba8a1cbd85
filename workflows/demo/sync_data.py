"""Demo: `sync_data`, scheduled data synchronization (a Temporal Schedule starts it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from activities.demo import DemoActivities
from agents.demo import TaskAgent
from workflows import AgentWorkflow, AgentWorkflowEvent, AgentWorkflowStep


class SyncDataParams(BaseModel):
    source: str = Field(default="inventory", pattern=r"^[a-z0-9_-]{1,40}$")


class SyncData(AgentWorkflow[TaskAgent, SyncDataParams, dict[str, Any]]):
    """Fetch from a source (one durable step), then record the sync in the agent's state."""

    async def run(self, event: AgentWorkflowEvent[SyncDataParams], step: AgentWorkflowStep) -> dict[str, Any]:
        fetched = await step.do(
            "fetch " + event.payload.source, DemoActivities.fetch_records, event.payload.source, timeout="1 minute"
        )
        await self.report_progress({"fraction": 1.0, "records": fetched["records"]})
        synced = {"source": event.payload.source, "records": fetched["records"], "batch": fetched["batch"]}
        await step.merge_agent_state({"last_sync": synced})
        return synced
