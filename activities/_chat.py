"""The activities of a chat turn (`workflows.ChatTurnWorkflow`): a streamed model request,
a tool call and the end of the turn's stream, each run for the agent the turn belongs to
(`agents.chat.steps`). Registered by the plugin when the app has a chat agent; this
module loads the model library (the `ai` extra)."""

from __future__ import annotations

from typing import Any

import structlog
from temporalio import activity

from agents import AgentRuntime
from agents.chat import ChatAgent
from agents.chat.steps import finish, model_step, tool_step
from workflows.contracts import (
    AgentRef,
    Bridge,
    ChatFinishInput,
    ChatModelInput,
    ChatModelResult,
    ChatToolInput,
    ChatToolOutcome,
)

log = structlog.get_logger("agents.chat")


class ChatActivities:
    def __init__(self, runtime: AgentRuntime) -> None:
        self._rt = runtime

    def all(self) -> list[Any]:
        return [self.model, self.tool, self.finish]

    def _agent(self, ref: AgentRef) -> ChatAgent[Any]:
        agent = self._rt.agent(ref.agent_type, ref.name)
        if not isinstance(agent, ChatAgent):
            raise TypeError(f"{ref.agent_type} is not a chat agent")
        return agent

    @activity.defn(name=Bridge.CHAT_MODEL)
    async def model(self, step: ChatModelInput) -> ChatModelResult:
        with structlog.contextvars.bound_contextvars(chat_request=step.request_id):
            return await model_step(self._agent(step.turn.agent), step, heartbeat=activity.heartbeat)

    @activity.defn(name=Bridge.CHAT_TOOL)
    async def tool(self, step: ChatToolInput) -> ChatToolOutcome:
        with structlog.contextvars.bound_contextvars(chat_request=step.request_id, tool=step.call.tool_name):
            return await tool_step(self._agent(step.turn.agent), step)

    @activity.defn(name=Bridge.CHAT_FINISH)
    async def finish(self, end: ChatFinishInput) -> None:
        with structlog.contextvars.bound_contextvars(chat_request=end.request_id):
            await finish(self._agent(end.turn.agent), end)
