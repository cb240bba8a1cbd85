"""Demo: `approval`, human-in-the-loop."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from activities.demo import DemoActivities
from agents.demo import TaskAgent
from workflows import AgentWorkflow, AgentWorkflowEvent, AgentWorkflowStep, DurationStr


class ApprovalParams(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    timeout: DurationStr = "1 day"
    """How long to wait for a decision, like '1 day' or '30 minutes'."""


class Approval(AgentWorkflow[TaskAgent, ApprovalParams, dict[str, Any]]):
    """Prepares, waits (`waiting`) for approve/reject, finishes with the approval's metadata.
    A rejection raises WorkflowRejectedError: the run ends `errored` with the reason."""

    async def run(self, event: AgentWorkflowEvent[ApprovalParams], step: AgentWorkflowStep) -> dict[str, Any]:
        await step.do("prepare", DemoActivities.prepare_approval, event.payload.title)
        await self.report_progress({"stage": "awaiting approval", "title": event.payload.title})
        approval = await self.wait_for_approval(step, timeout=event.payload.timeout)
        return {"title": event.payload.title, "approved": True, "metadata": approval.metadata}
