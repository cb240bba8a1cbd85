"""Chat turns through the model library's real OpenAI client and HTTP streaming, against
a local OpenAI-compatible server (`tests/fake_openai.py`): the one thing faked is the model."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from tests.chat_helpers import ChatSocket, kinds, text_of, user_message
from tests.fake_openai import FakeOpenAI

AGENT = "provider-chat"


@pytest.mark.usefixtures("worker")
async def test_text_and_a_tool_call_stream_through_the_openai_client(
    api_server: str, agent_name: str, fake_openai: FakeOpenAI, redis: Redis
) -> None:
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        chunks, done = await a.stream(await a.request([user_message("hi")]))
        assert text_of(chunks) == "You said: hi" and done["outcome"] == "completed"
        assert len([c for c in chunks if c["type"] == "text-delta"]) == 3  # as the server streamed them

        chunks, done = await a.stream(await a.request([user_message("the weather in Oslo?")]))
    assert done["outcome"] == "completed"
    assert kinds(chunks)[:6] == [
        "start",
        "start-step",
        "tool-input-start",
        "tool-input-delta",
        "tool-input-available",
        "finish-step",
    ]
    assert len([c for c in chunks if c["type"] == "tool-input-delta"]) == 2  # the arguments in two pieces
    assert next(c for c in chunks if c["type"] == "tool-input-available")["input"] == {"city": "Oslo"}
    assert text_of(chunks) == "It is sunny in Oslo."
    assert await redis.get(f"test:tool-runs:{agent_name}") == "1"
    # One request per model step: the first turn's, then the tool call's and the answer's.
    assert len(fake_openai.requests) == 3
    last = fake_openai.requests[-1]
    assert [t["function"]["name"] for t in last["tools"]] == ["get_weather"]
    # The server's history went with it: both turns, the tool call and its result.
    assert [m["role"] for m in last["messages"]] == ["user", "assistant", "user", "assistant", "tool"]


@pytest.mark.usefixtures("worker")
async def test_a_request_the_provider_refuses_ends_the_turn_at_once_with_its_message(
    api_server: str, agent_name: str, fake_openai: FakeOpenAI
) -> None:
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        chunks, done = await a.stream(await a.request([user_message("unauthorized")]), timeout=15)
        assert done["outcome"] == "error"
        error = next(c for c in chunks if c["type"] == "error")
        assert "Incorrect API key" in error["errorText"]
        assert len(fake_openai.requests) == 1  # not tried again: it would fail again
        chunks, done = await a.stream(await a.request([user_message("hi again")]))  # the chat goes on
    assert done["outcome"] == "completed" and text_of(chunks) == "You said: hi again"
