"""The activities of a chat turn (`workflows.ChatTurnWorkflow`): a streamed model request,
a tool call and the end of the turn's stream, each run for the agent the turn belongs to
(`agents.chat.steps`). Registered by the plugin when the app has a chat agent; this
module loads the model library (the `ai` extra)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from agents import AgentRuntime
from agents.chat import ChatAgent, ChatTurnError
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


_HEARTBEAT_EVERY = 1.0
"""Seconds between heartbeats while a model request runs, chunks or not (a model that
thinks for a minute before its first token is alive; a dead worker is noticed within
the workflow's heartbeat timeout; a cancel of the turn arrives with a heartbeat's answer)."""


async def _heartbeat() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(_HEARTBEAT_EVERY)


@contextlib.contextmanager
def _final_errors() -> Iterator[None]:
    """A `ChatTurnError` fails the activity for good (the turn ends with its message)."""
    try:
        yield
    except ChatTurnError as err:
        raise ApplicationError(err.message, type="ChatTurnError", non_retryable=True) from err


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
        with structlog.contextvars.bound_contextvars(chat_request=step.request_id), _final_errors():
            agent = self._agent(step.turn.agent)
            beating = asyncio.create_task(_heartbeat())
            try:
                return await model_step(agent, step, attempt=activity.info().attempt)
            finally:
                beating.cancel()

    @activity.defn(name=Bridge.CHAT_TOOL)
    async def tool(self, step: ChatToolInput) -> ChatToolOutcome:
        with (
            structlog.contextvars.bound_contextvars(chat_request=step.request_id, tool=step.call.tool_name),
            _final_errors(),
        ):
            return await tool_step(self._agent(step.turn.agent), step)

    @activity.defn(name=Bridge.CHAT_FINISH)
    async def finish(self, end: ChatFinishInput) -> None:
        with structlog.contextvars.bound_contextvars(chat_request=end.request_id):
            await finish(self._agent(end.turn.agent), end)
