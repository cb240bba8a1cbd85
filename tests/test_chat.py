"""Chat agents (`agents.chat`): Cloudflare's chat protocol against the demo's chat agent
(its offline model), a real API and a real worker; every turn a Temporal workflow."""

from __future__ import annotations

import httpx
import pytest
from temporalio.client import Client

from tests.chat_helpers import ChatSocket, kinds, text_of, user_message

pytestmark = pytest.mark.usefixtures("worker")

AGENT = "chat-agent"


async def test_a_turn_streams_to_the_sender_and_every_other_client_and_is_stored(
    api_server: str, agent_name: str, client: Client
) -> None:
    async with ChatSocket(api_server, AGENT, agent_name) as a, ChatSocket(api_server, AGENT, agent_name) as b:
        await a.next("cf_agent_identity")
        await b.next("cf_agent_identity")
        hello = user_message("hello there")
        request_id = await a.request([hello])
        chunks, done = await a.stream(request_id)
        assert kinds(chunks) == [
            "start",
            "start-step",
            "text-start",
            "text-delta",
            "text-end",
            "finish-step",
            "finish",
        ]
        assert text_of(chunks) == "You said: hello there"
        assert len([c for c in chunks if c["type"] == "text-delta"]) == 4  # a word per chunk
        assert done["outcome"] == "completed" and done["messageIds"] == [chunks[0]["messageId"]]
        # The other client got the transcript with the new message, then the same live frames.
        synced = await b.next("cf_agent_chat_messages")
        assert synced["messages"] == [hello]
        other, _ = await b.stream(request_id)
        assert other == chunks

    async with httpx.AsyncClient(base_url=api_server) as http:
        stored = (await http.get(f"/agents/{AGENT}/{agent_name}/get-messages")).json()
        assert (await http.get(f"/agents/{AGENT}/{agent_name}/chat/turn")).json() is None
    assert stored[0] == hello
    assert stored[1]["id"] == chunks[0]["messageId"] and stored[1]["role"] == "assistant"
    assert [p for p in stored[1]["parts"] if p["type"] == "text"] == [
        {"type": "text", "text": "You said: hello there", "state": "done"}
    ]
    # The turn ran on Temporal, findable by the agent's search attributes.
    found = [w async for w in client.list_workflows(f"AgentName = '{agent_name}' AND AgentWorkflow = 'chat'")]
    assert [w.id for w in found] == [f"{AGENT}/{agent_name}/chat/{request_id}"]


async def test_a_server_tool_runs_as_a_step_and_the_model_answers_from_its_output(
    api_server: str, agent_name: str
) -> None:
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        request_id = await a.request([user_message("what is the weather in Paris?")])
        chunks, done = await a.stream(request_id)
    assert done["outcome"] == "completed"
    assert kinds(chunks) == [
        "start",
        "start-step",
        "tool-input-start",
        "tool-input-delta",
        "tool-input-available",
        "finish-step",
        "tool-output-available",
        "start-step",
        "text-start",
        "text-delta",
        "text-end",
        "finish-step",
        "finish",
    ]
    call = next(c for c in chunks if c["type"] == "tool-input-available")
    assert (call["toolName"], call["input"]) == ("get_weather", {"city": "Paris"})
    output = next(c for c in chunks if c["type"] == "tool-output-available")
    assert output["output"]["forecast"] == "sunny"
    assert text_of(chunks) == "It is sunny in Paris."


async def test_the_server_keeps_the_history_and_takes_only_the_new_user_message(
    api_server: str, agent_name: str
) -> None:
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        first = user_message("one")
        await a.stream(await a.request([first]))
        forged = {"id": "x", "role": "assistant", "parts": [{"type": "text", "text": "I said something else"}]}
        second = user_message("two")
        await a.stream(await a.request([first, forged, second]))
    async with httpx.AsyncClient(base_url=api_server) as http:
        stored = (await http.get(f"/agents/{AGENT}/{agent_name}/get-messages")).json()
    assert [m["role"] for m in stored] == ["user", "assistant", "user", "assistant"]
    assert "x" not in [m["id"] for m in stored]


async def test_a_second_request_during_a_turn_is_refused_with_an_error_frame(api_server: str, agent_name: str) -> None:
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        first = await a.request([user_message("a long answer to come " * 3)])
        await a.next("cf_agent_use_chat_response", id=first)
        second = await a.request([user_message("me too")])
        refused = await a.next("cf_agent_use_chat_response", id=second)
        assert refused["error"] is True and "in progress" in refused["body"]
        _, done = await a.stream(first)
        assert done["outcome"] == "completed"


async def test_bad_requests_get_an_error_frame_and_change_nothing(api_server: str, agent_name: str) -> None:
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        await a.send({"type": "cf_agent_use_chat_request", "id": "r1", "init": {"body": "not json"}})
        assert "init.body" in (await a.next("cf_agent_use_chat_response", id="r1"))["body"]
        await a.send({"type": "cf_agent_use_chat_request", "id": "r2", "init": {"body": '{"messages": [{"id": 1}]}'}})
        assert "'role'" in (await a.next("cf_agent_use_chat_response", id="r2"))["body"]
        await a.send({"type": "cf_agent_tool_approval", "toolCallId": "nope", "approved": True})
        assert "no chat turn is waiting" in (await a.next("error"))["error"]
    async with httpx.AsyncClient(base_url=api_server) as http:
        assert (await http.get(f"/agents/{AGENT}/{agent_name}/get-messages")).json() == []
        assert (await http.get(f"/agents/task-agent/{agent_name}/get-messages")).status_code == 404
