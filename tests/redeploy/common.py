"""What every version of `redeploy_flow` shares: a step that counts its executions in
Redis (by step name), so a test can tell that no completed step ran again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio import activity

from activities import ActivityGroup
from workflows import AgentWorkflowStep


@dataclass
class Tick:
    key: str
    step: str


class RedeployActivities(ActivityGroup):
    @activity.defn(name="redeploy.tick")
    async def tick(self, t: Tick) -> str:
        await self.redis.hincrby(t.key, t.step, 1)
        return t.step


async def ticks(wf: Any, step: AgentWorkflowStep, key: str, *names: str) -> list[Any]:
    """Run the steps `names`, in order: `nap` is a durable sleep, `inline` an inline step
    (a closure calling the agent, which records it in its state), any other name an
    activity that counts its executions. Returns the names."""
    for name in names:
        if name == "nap":
            await step.sleep(name, "10 milliseconds")
        elif name == "inline":
            await step.do(name, lambda n=name: wf.agent.append(n))
        else:
            await step.do(name, RedeployActivities.tick, Tick(key, name))
    return list(names)


def executions_key(run_key: str) -> str:
    return f"test:redeploy:{run_key}"
