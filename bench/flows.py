"""The framework side of the latency benchmarks: an agent and probe workflows written
with the agent layer (loaded by the bench API and worker through AGENT_MODULES).

Each probe takes a wall-clock stamp in an activity (workflows may not read the clock)
and hands it on through the path being measured; the client subtracts it from its own
clock on arrival. The raw baseline (bench/raw.py) does the same through raw calls."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel
from temporalio import activity

from activities import ActivityGroup
from agents import Agent
from workflows import AgentWorkflow, AgentWorkflowEvent, AgentWorkflowStep


class BenchAgent(Agent[dict[str, Any]]):
    initial_state: dict[str, Any] = {}


class BenchActivities(ActivityGroup):
    @activity.defn(name="bench.now")
    async def now(self, index: int) -> float:
        return time.time()


class ProbeParams(BaseModel):
    count: int


class ProgressProbe(AgentWorkflow[BenchAgent, ProbeParams, Any]):
    async def run(self, event: AgentWorkflowEvent[ProbeParams], step: AgentWorkflowStep) -> int:
        for i in range(event.payload.count):
            stamp = await step.do(f"t{i}", BenchActivities.now, i)
            await self.report_progress({"i": i, "t": stamp})
        return event.payload.count


class MergeProbe(AgentWorkflow[BenchAgent, ProbeParams, Any]):
    async def run(self, event: AgentWorkflowEvent[ProbeParams], step: AgentWorkflowStep) -> int:
        for i in range(event.payload.count):
            stamp = await step.do(f"t{i}", BenchActivities.now, i)
            await step.merge_agent_state({"probe": {"i": i, "t": stamp}})
        return event.payload.count


class ApprovalProbe(AgentWorkflow[BenchAgent, ProbeParams, Any]):
    """Waits for `count` approvals; returns when each resumed (wall clock, in an activity)."""

    async def run(self, event: AgentWorkflowEvent[ProbeParams], step: AgentWorkflowStep) -> list[float]:
        resumed = []
        for i in range(event.payload.count):
            await self.wait_for_approval(step, name=f"approval{i}")
            resumed.append(await step.do(f"resumed{i}", BenchActivities.now, i))
        return resumed
