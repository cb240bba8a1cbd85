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


@pytest.mark.usefixtures("worker")
async def test_a_tool_the_browser_runs_waits_for_its_output(
    api_server: str, agent_name: str, fake_openai: FakeOpenAI
) -> None:
    location = {"name": "get_location", "description": "Where the user is", "parameters": {"type": "object"}}
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        chunks, done = await a.stream(await a.request([user_message("where am I?")], clientTools=[location]))
        call = next(c for c in chunks if c["type"] == "tool-input-available")
        assert call["toolName"] == "get_location" and done["outcome"] == "completed"
        assert "tool-output-available" not in kinds(chunks)  # the server does not run it
        await a.send(
            {
                "type": "cf_agent_tool_result",
                "toolCallId": call["toolCallId"],
                "toolName": "get_location",
                "output": {"city": "Lisbon"},
                "autoContinue": True,
            }
        )
        updated = await a.next("cf_agent_message_updated")
        part = next(p for p in updated["message"]["parts"] if p.get("toolCallId") == call["toolCallId"])
        assert part["state"] == "output-available" and part["output"] == {"city": "Lisbon"}
        await a.send({"type": "cf_agent_stream_resume_request", "probeId": "p"})
        resuming = await a.next("cf_agent_stream_resuming", probeId="p")
        await a.send({"type": "cf_agent_stream_resume_ack", "id": resuming["id"]})
        more, done = await a.stream(resuming["id"])
    assert done["outcome"] == "completed" and text_of(more) == "It is sunny in Lisbon."
    # the browser's output went to the model as the tool's result
    assert fake_openai.requests[-1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": call["toolCallId"],
        "content": '{"city":"Lisbon"}',
    }
