from pydantic import BaseModel
from temporalio import activity

from activities import ActivityGroup
from agents import Agent, callable_method
from workflows import AgentWorkflow, AgentWorkflowEvent, AgentWorkflowStep


class Greeter(Agent):
    """An agent: its state lives in Redis and reaches every connected client."""

    initial_state = {"greeted": 0, "last": None}

    @callable_method
    async def greet(self, name: str) -> str:
        await self.merge_state({"greeted": self.state["greeted"] + 1, "last": name})
        return f"hello, {name}"


class Letters(ActivityGroup):
    """Activities: where I/O goes (an HTTP call, a model, a database)."""

    @activity.defn(name="greeter.draft")
    async def draft(self, name: str) -> str:
        return f"Dear {name}, welcome aboard."


class WelcomeParams(BaseModel):
    name: str


class Welcome(AgentWorkflow[Greeter, WelcomeParams, dict]):
    """A durable workflow: each step runs once, even if a worker dies mid-way."""

    async def run(self, event: AgentWorkflowEvent[WelcomeParams], step: AgentWorkflowStep) -> dict:
        letter = await step.do("draft", Letters.draft, event.payload.name)
        await step.merge_agent_state({"draft": letter})
        await self.report_progress({"stage": "waiting for approval"})
        approval = await self.wait_for_approval(step, timeout="1 day")  # the run is `waiting`
        return {"letter": letter, "approved_because": approval.reason}
