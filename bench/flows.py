"""The framework side of the latency benchmarks: an agent and probe workflows written
with the agent layer (loaded by the bench API and worker through AGENT_MODULES).

Progress and merge probes stamp each sample with `workflow.now()` (the start of the
workflow task that makes the call: the one clock a workflow may read) and hand it on
through the path measured; the client subtracts it from its own clock on arrival. An
activity between samples starts a new workflow task each time. The approval probe
stamps in an activity. The raw baseline (bench/raw.py) does the same through raw calls."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from pydantic import BaseModel
from temporalio import activity, workflow

from activities import ActivityGroup
from agents import Agent, callable_method
from workflows import AgentWorkflow, AgentWorkflowEvent, AgentWorkflowStep


class BenchAgent(Agent[dict[str, Any]]):
    initial_state: dict[str, Any] = {}

    @callable_method
    async def bump(self) -> int:
        """A read-modify-write of the state, in the agent's turn (bench/actor.py)."""
        n = self.state.get("n", 0)
        await self.set_state({**self.state, "n": n + 1})
        return n + 1

    @callable_method
    async def bump_after_io(self, ms: float) -> int:
        """`bump` after `ms` of awaited I/O in the turn, as a call to a database or a
        model would take: the agent's calls run in series, different agents in parallel."""
        await asyncio.sleep(ms / 1000)
        return await self.bump()

    async def fired(self, payload: dict[str, Any], call: Any) -> None:
        """A scheduled call (bench/scheduled_calls.py): records when it ran, in its turn."""
        await self.runtime.redis.rpush(payload["key"], json.dumps([call.id, payload["due"], time.time()]))

    @callable_method(interleave=True)
    async def bump_interleaved(self) -> int:
        """The same without the turn: the baseline of what the turn costs (not safe
        under concurrency: that is the point of the turn)."""
        n = self.state.get("n", 0)
        await self.set_state({**self.state, "n": n + 1})
        return n + 1

    @callable_method
    async def call_other(self, name: str, via: str, api: str = "") -> int:
        """In this agent's turn, `bump` another (bench/agent_to_agent.py): through its
        stub (`get_agent`), or over HTTP RPC to the API at `api`, as agents did before."""
        if via == "stub":
            return await (await self.get_agent(BenchAgent, name)).bump()
        response = await _http_client().post(f"{api}/agents/bench-agent/{name}/rpc/bump", json={"args": []})
        response.raise_for_status()
        return int(response.json()["result"])

    @callable_method
    async def time_calls(self, name: str, count: int) -> dict[str, list[float]]:
        """In this agent's turn, milliseconds of `count` calls of another agent's `bump`
        through its stub, each beside the same call made on its Agent object in its turn
        (what the stub adds to a local method call that takes the turn)."""
        other = await self.get_agent(BenchAgent, name)
        local = self.runtime.agent(self.agent_type, name)
        samples: dict[str, list[float]] = {"stub": [], "local": []}
        for _ in range(count):
            began = time.perf_counter()
            await other.bump()
            samples["stub"].append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            async with local.turn():
                await local.bump()
            samples["local"].append((time.perf_counter() - began) * 1000)
        return samples


_CLIENT: Any = None


def _http_client() -> Any:
    """One keep-alive client per API process (imported here: the worker never needs it)."""
    global _CLIENT
    if _CLIENT is None:
        import httpx

        _CLIENT = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_keepalive_connections=100))
    return _CLIENT


class BenchActivities(ActivityGroup):
    @activity.defn(name="bench.now")
    async def now(self, index: int) -> float:
        return time.time()


class ProbeParams(BaseModel):
    count: int


class ProgressProbe(AgentWorkflow[BenchAgent, ProbeParams, Any]):
    async def run(self, event: AgentWorkflowEvent[ProbeParams], step: AgentWorkflowStep) -> int:
        for i in range(event.payload.count):
            await step.do(f"t{i}", BenchActivities.now, i)
            await self.report_progress({"i": i, "t": workflow.now().timestamp()})
        return event.payload.count


class MergeProbe(AgentWorkflow[BenchAgent, ProbeParams, Any]):
    async def run(self, event: AgentWorkflowEvent[ProbeParams], step: AgentWorkflowStep) -> int:
        for i in range(event.payload.count):
            await step.do(f"t{i}", BenchActivities.now, i)
            await step.merge_agent_state({"probe": {"i": i, "t": workflow.now().timestamp()}})
        return event.payload.count


class ApprovalProbe(AgentWorkflow[BenchAgent, ProbeParams, Any]):
    """Waits for `count` approvals; returns when each resumed (wall clock, in an activity)."""

    async def run(self, event: AgentWorkflowEvent[ProbeParams], step: AgentWorkflowStep) -> list[float]:
        resumed = []
        for i in range(event.payload.count):
            await self.wait_for_approval(step, name=f"approval{i}")
            resumed.append(await step.do(f"resumed{i}", BenchActivities.now, i))
        return resumed
