"""The raw Temporal side of the chat benchmarks: the same stamped tokens carried by
Temporal's own answer for streaming to a UI, Workflow Streams
(`temporalio.contrib.workflow_streams`: signals batched every 100 ms, long-poll updates),
a workflow that runs one activity (Temporal's own start-to-activity latency), and a turn
reduced to Temporal's floor: a workflow whose one activity streams the same model and
drops every token (no Redis, no client), for what many turns at once cost Temporal alone."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.contrib.workflow_streams import WorkflowStream, WorkflowStreamClient

TIMEOUT = timedelta(minutes=5)
TOPIC = "tokens"
STREAMED: list[float] = []
"""When each `model_dropping_tokens` ended (`time.perf_counter()`; the worker runs in the
benchmark's process): the floor's clock stops at its last model stream, as ours stops at
its clients' last token, with no waiting on workflow results in between."""


@dataclass
class TokensInput:
    tokens: int
    delay: float


class RawChatActivities:
    def all(self) -> list[object]:
        return [self.stream_tokens, self.started, self.model_dropping_tokens]

    @activity.defn(name="raw_chat.stream_tokens")
    async def stream_tokens(self, input: TokensInput) -> None:
        """The stamped model's tokens, published to the parent workflow's stream."""
        async with WorkflowStreamClient.from_within_activity(batch_interval=timedelta(milliseconds=100)) as stream:
            topic = stream.topic(TOPIC)
            for i in range(input.tokens):
                if i and input.delay:
                    await asyncio.sleep(input.delay)
                topic.publish(f" {time.time():.6f}")
            await stream.flush()

    @activity.defn(name="raw_chat.model_dropping_tokens")
    async def model_dropping_tokens(self, input: TokensInput) -> int:
        """The stamped model streamed through the model library, as the chat agent's model
        step and the plain endpoint stream it; its events are counted, not sent."""
        from pydantic_ai.direct import model_request_stream
        from pydantic_ai.messages import ModelRequest

        from bench.chat_model import stamped_model

        events = 0
        model = stamped_model(input.tokens, input.delay)
        async with model_request_stream(model, [ModelRequest.user_text_prompt("go")]) as stream:
            async for _ in stream:
                events += 1
        STREAMED.append(time.perf_counter())
        return events

    @activity.defn(name="raw_chat.started")
    async def started(self) -> float:
        return time.time()


@workflow.defn(name="raw_streamed_chat")
class RawStreamedChat:
    @workflow.init
    def __init__(self, input: TokensInput) -> None:
        self.stream = WorkflowStream()

    @workflow.run
    async def run(self, input: TokensInput) -> None:
        await workflow.execute_activity("raw_chat.stream_tokens", input, start_to_close_timeout=TIMEOUT)


@workflow.defn(name="raw_first_activity")
class RawFirstActivity:
    @workflow.run
    async def run(self) -> float:
        return await workflow.execute_activity("raw_chat.started", start_to_close_timeout=TIMEOUT, result_type=float)


@workflow.defn(name="raw_model_turn")
class RawModelTurn:
    @workflow.run
    async def run(self, input: TokensInput) -> int:
        return await workflow.execute_activity(
            "raw_chat.model_dropping_tokens", input, start_to_close_timeout=TIMEOUT, result_type=int
        )


RAW_CHAT_WORKFLOWS = [RawStreamedChat, RawFirstActivity, RawModelTurn]
