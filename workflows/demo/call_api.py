"""Demo: `call_api`, a resilient external HTTP call as one durable step."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from activities.demo import HttpActivities, HttpCallInput
from agents.demo import TaskAgent
from workflows import AgentWorkflow, AgentWorkflowEvent, AgentWorkflowStep, DurationStr, parse_duration


class CallApiParams(BaseModel):
    url: str = Field(pattern=r"^https?://", max_length=2000)
    retries: int = Field(default=5, ge=0, le=20)
    retry_delay: DurationStr = "1 second"
    """First wait between attempts; it doubles each retry."""
    timeout: DurationStr = "30 seconds"
    """Per attempt."""


class CallApi(AgentWorkflow[TaskAgent, CallApiParams, dict[str, Any]]):
    """GET `url` once, durably: 5xx and network errors retry with exponential backoff,
    4xx fails at once; a completed call never runs again, even after a crash."""

    async def run(self, event: AgentWorkflowEvent[CallApiParams], step: AgentWorkflowStep) -> dict[str, Any]:
        p = event.payload
        await self.report_progress({"stage": "calling", "url": p.url})
        response = await step.do(
            "GET " + p.url[:100],
            HttpActivities.http_get,
            HttpCallInput(p.url, timeout_s=parse_duration(p.timeout).total_seconds()),
            retries={"limit": p.retries, "delay": p.retry_delay, "backoff": "exponential"},
            timeout=p.timeout,
        )
        await self.report_progress({"stage": "done", "status": response["status"]})
        return response
