"""`redeploy_flow`, a step added at the end."""

from __future__ import annotations

from typing import Any

from workflows import AgentWorkflow, AgentWorkflowEvent, AgentWorkflowStep

from .common import RedeployActivities, executions_key, ticks

__all__ = ["RedeployActivities", "RedeployFlow"]


class RedeployFlow(AgentWorkflow[Any, dict, Any], name="redeploy_flow"):
    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        key = executions_key(event.payload["key"])
        done = await ticks(self, step, key, "a", "nap", "b", "inline", "c")
        approval = (await self.wait_for_approval(step, name="gate")).metadata
        return [*done, approval, *await ticks(self, step, key, "d", "e", "f")]
