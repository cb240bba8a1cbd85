"""The raw Temporal side of the chat benchmarks: the same stamped tokens carried by
Temporal's own answer for streaming to a UI, Workflow Streams
(`temporalio.contrib.workflow_streams`: signals batched every 100 ms, long-poll updates),
and a workflow that runs one activity (Temporal's own start-to-activity latency)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.contrib.workflow_streams import WorkflowStream, WorkflowStreamClient

TIMEOUT = timedelta(minutes=5)
TOPIC = "tokens"


@dataclass
class TokensInput:
    tokens: int
    delay: float


class RawChatActivities:
    def all(self) -> list[object]:
        return [self.stream_tokens, self.started]

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


RAW_CHAT_WORKFLOWS = [RawStreamedChat, RawFirstActivity]
