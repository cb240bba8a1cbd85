"""`redeploy_flow` whose params model now requires a field the run was not started with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from workflows import AgentWorkflow, AgentWorkflowEvent, AgentWorkflowStep

from .common import RedeployActivities, executions_key, ticks

__all__ = ["RedeployActivities", "RedeployFlow"]


class Params(BaseModel):
    key: str
    region: str


class RedeployFlow(AgentWorkflow[Any, Params, Any], name="redeploy_flow"):
    async def run(self, event: AgentWorkflowEvent[Params], step: AgentWorkflowStep) -> Any:
        key = executions_key(event.payload.key)
        done = await ticks(self, step, key, "a", "nap", "b", "inline", "c")
        approval = (await self.wait_for_approval(step, name="gate")).metadata
        return [*done, approval, *await ticks(self, step, key, "d", "e")]
