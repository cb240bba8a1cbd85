"""Demo: `process_items`, background processing with progress."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field

from activities.demo import DemoActivities, ItemInput
from agents.demo import TaskAgent
from workflows import AgentWorkflow, AgentWorkflowEvent, AgentWorkflowStep


class ProcessItemsParams(BaseModel):
    items: list[str] = Field(max_length=100_000)
    delay_ms: int = Field(default=0, ge=0, le=60_000)
    """Simulated work per item."""


class ProcessItems(AgentWorkflow[TaskAgent, ProcessItemsParams, dict[str, Any]]):
    """One durable step per item; progress after each; `task_progress` in the agent's state."""

    async def run(self, event: AgentWorkflowEvent[ProcessItemsParams], step: AgentWorkflowStep) -> dict[str, int]:
        items = event.payload.items
        total = len(items)
        # The work's own budget, not the 10-minute default: a step that was running on
        # a worker that died is retried elsewhere as soon as this runs out.
        timeout = timedelta(milliseconds=event.payload.delay_ms, seconds=10)
        for index, item in enumerate(items):
            await step.do(
                f"item-{index}",
                DemoActivities.process_item,
                ItemInput(event.instance_id, index, item, event.payload.delay_ms),
                timeout=timeout,
            )
            fraction = (index + 1) / total
            await self.report_progress({"processed": index + 1, "total": total, "fraction": fraction})
            await step.merge_agent_state({"task_progress": fraction})
        return {"processed": total}
