"""Chat agents (`agents.chat`): Cloudflare's chat protocol against the demo's chat agent
(its offline model), a real API and a real worker; every turn a Temporal workflow."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from agents import AgentRuntime, Reconciler, Settings
from agents.client import AgentClient, AgentHttp, AgentHttpError
from devstack import free_port
from tests.chat_helpers import ChatSocket, kinds, text_of, user_message
from tests.conftest import serve_api

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


async def test_requests_during_a_turn_wait_their_turn_and_are_answered_in_order(
    api_server: str, agent_name: str
) -> None:
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        first = await a.request([user_message("a long answer to come " * 3)])
        await a.next("cf_agent_use_chat_response", id=first)
        second = await a.request([user_message("second")])
        third = await a.request([user_message("third")])
        answers = [await a.stream(request_id) for request_id in (first, second, third)]
    assert [done["outcome"] for _, done in answers] == ["completed"] * 3
    assert [text_of(chunks) for chunks, _ in answers[1:]] == ["You said: second", "You said: third"]
    async with httpx.AsyncClient(base_url=api_server) as http:
        stored = (await http.get(f"/agents/{AGENT}/{agent_name}/get-messages")).json()
    assert [m["role"] for m in stored] == ["user", "assistant"] * 3
    assert [p["text"] for m in stored[2::2] for p in m["parts"]] == ["second", "third"]


async def test_a_queued_request_cancelled_never_runs(api_server: str, agent_name: str) -> None:
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        first = await a.request([user_message("a long answer to come " * 3)])
        await a.next("cf_agent_use_chat_response", id=first)
        queued = await a.request([user_message("never mind")])
        await a.send({"type": "cf_agent_chat_request_cancel", "id": queued})
        _, cancelled = await a.stream(queued)
        _, done = await a.stream(first)
    assert cancelled["outcome"] == "aborted" and done["outcome"] == "completed"
    async with httpx.AsyncClient(base_url=api_server) as http:
        stored = (await http.get(f"/agents/{AGENT}/{agent_name}/get-messages")).json()
    assert [m["role"] for m in stored] == ["user", "assistant"]  # the cancelled one never started


async def test_requests_queued_behind_a_turn_terminated_by_hand_are_answered_in_order(
    api_server: str, agent_name: str, client: Client
) -> None:
    """Its turn's workflow terminated in Temporal UI, nothing ends the turn: the requests
    queued behind it are answered once the chat finds it gone, oldest first, whether a
    cancel finds it or the next request (once the turn is older than the 5 s in which a
    turn is trusted without asking Temporal)."""
    async with ChatSocket(api_server, AGENT, agent_name) as a, httpx.AsyncClient(base_url=api_server) as http:
        first = await a.request([user_message("a long answer to come " * 20)])
        await a.next("cf_agent_use_chat_response", id=first)
        second = await a.request([user_message("second")])
        await _terminate_turn(http, client, agent_name)
        await a.send({"type": "cf_agent_chat_request_cancel", "id": first})
        _, aborted = await a.stream(first)
        assert aborted["outcome"] == "aborted"
        assert text_of((await a.stream(second))[0]) == "You said: second"

        third = await a.request([user_message("a long answer to come " * 20)])
        await a.next("cf_agent_use_chat_response", id=third)
        fourth = await a.request([user_message("fourth")])
        await _terminate_turn(http, client, agent_name)
        await asyncio.sleep(5.5)
        fifth = await a.request([user_message("fifth")])
        answers = [text_of((await a.stream(request_id))[0]) for request_id in (fourth, fifth)]
        assert answers == ["You said: fourth", "You said: fifth"]


async def test_the_reconciler_ends_a_turn_terminated_by_hand_without_anyone_asking(
    api_server: str, agent_name: str, client: Client, runtime: AgentRuntime
) -> None:
    """The worker's reconciler finds a chat turn's workflow closed without ending the turn
    (terminated, cancelled or failed in Temporal): its clients are told `aborted` and the
    request queued behind it is answered, with no one touching the chat."""
    async with ChatSocket(api_server, AGENT, agent_name) as a, httpx.AsyncClient(base_url=api_server) as http:
        first = await a.request([user_message("a long answer to come " * 20)])
        await a.next("cf_agent_use_chat_response", id=first)
        second = await a.request([user_message("second")])
        terminated = await _terminate_turn(http, client, agent_name)
        reconciler = Reconciler(runtime)
        for _ in range(100):  # visibility is eventually consistent
            await reconciler.sweep()
            now = (await http.get(f"/agents/{AGENT}/{agent_name}/chat/turn")).json()
            if now is None or now["workflow_id"] != terminated:
                break
            await asyncio.sleep(0.1)
        _, aborted = await a.stream(first)
        assert aborted["outcome"] == "aborted"
        assert text_of((await a.stream(second))[0]) == "You said: second"


async def test_a_request_while_a_tool_waits_for_approval_is_refused(api_server: str, agent_name: str) -> None:
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        await a.stream(await a.request([user_message("deploy")]))
        refused = await a.next("cf_agent_use_chat_response", id=await a.request([user_message("hello?")]))
    assert refused["error"] is True and "waits for a tool approval" in refused["body"]


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


async def _approval_turn(a: ChatSocket, text: str) -> tuple[str, str, list[dict[str, Any]]]:
    """A turn that asks to deploy: it ends its stream with an approval request."""
    request_id = await a.request([user_message(text)])
    chunks, done = await a.stream(request_id)
    assert done["outcome"] == "completed"
    request = next(c for c in chunks if c["type"] == "tool-approval-request")
    return request_id, request["toolCallId"], chunks


async def _continuation(a: ChatSocket) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """What the npm client does after answering an approval: probe, acknowledge, read on."""
    await a.send({"type": "cf_agent_stream_resume_request", "probeId": "p1"})
    resuming = await a.next("cf_agent_stream_resuming", probeId="p1")
    await a.send({"type": "cf_agent_stream_resume_ack", "id": resuming["id"]})
    return await a.stream(resuming["id"])


@pytest.mark.parametrize("approved", [True, False])
async def test_a_tool_that_needs_approval_waits_then_runs_or_not(
    api_server: str, agent_name: str, approved: bool
) -> None:
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        _, call_id, chunks = await _approval_turn(a, "please deploy to staging")
        call = next(c for c in chunks if c["type"] == "tool-input-available")
        assert (call["toolName"], call["input"]) == ("deploy", {"target": "staging"})
        async with httpx.AsyncClient(base_url=api_server) as http:
            turn = (await http.get(f"/agents/{AGENT}/{agent_name}/chat/turn")).json()
            assert turn["status"] == "waiting" and turn["awaiting"] == {call_id: "approval"}
        await a.send({"type": "cf_agent_tool_approval", "toolCallId": call_id, "approved": approved})
        updated = await a.next("cf_agent_message_updated")
        part = next(p for p in updated["message"]["parts"] if p.get("toolCallId") == call_id)
        assert part["state"] == "approval-responded" and part["approval"]["approved"] is approved
        more, done = await _continuation(a)
    assert done["outcome"] == "completed" and done.get("continuation") is True
    if approved:
        assert [c["type"] for c in more][:1] == ["tool-output-available"]
        assert text_of(more) == "Deployed."
    else:
        assert [c["type"] for c in more][:1] == ["tool-output-denied"]
        assert text_of(more) == "Not deployed."
    async with httpx.AsyncClient(base_url=api_server) as http:
        stored = (await http.get(f"/agents/{AGENT}/{agent_name}/get-messages")).json()
    answer = stored[-1]
    tool = next(p for p in answer["parts"] if p.get("toolCallId") == call_id)
    assert tool["state"] == ("output-available" if approved else "output-denied")
    assert [p["text"] for p in answer["parts"] if p["type"] == "text"] == ["Deployed." if approved else "Not deployed."]


async def test_an_approval_over_http_goes_on_with_the_clients_of_the_chat(api_server: str, agent_name: str) -> None:
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        _, call_id, _ = await _approval_turn(a, "deploy")
        async with httpx.AsyncClient(base_url=api_server) as http:
            base = f"/agents/{AGENT}/{agent_name}/chat/tool-calls"
            assert (await http.post(f"{base}/nope/approve")).status_code == 422
            assert (await http.post(f"{base}/{call_id}/approve")).status_code == 204
            assert (await http.post(f"{base}/{call_id}/approve")).status_code == 422  # decided already
        more, _ = await _continuation(a)
    assert text_of(more) == "Deployed."


async def test_a_client_that_reconnects_mid_answer_resumes_it_replay_then_live(
    api_server: str, agent_name: str
) -> None:
    words = " ".join(f"w{i}" for i in range(40))  # about 1.2 s of answer
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        request_id = await a.request([user_message(words)])
        for _ in range(5):
            await a.next("cf_agent_use_chat_response", id=request_id)
    # the first client went away mid-answer; a new connection probes and resumes
    async with ChatSocket(api_server, AGENT, agent_name) as b:
        resuming = await b.next("cf_agent_stream_resuming", id=request_id)  # told on connect
        await b.send({"type": "cf_agent_stream_resume_ack", "id": request_id})
        frames = []
        async with asyncio.timeout(20):
            while not (frames and frames[-1].get("done")):
                frames.append(await b.next("cf_agent_use_chat_response", id=request_id))
    assert resuming["id"] == request_id
    replayed = [f for f in frames if f.get("replay")]
    assert replayed and replayed[-1].get("replayComplete") is True  # the stream was still live
    seqs = [f["seq"] for f in frames if "seq" in f]
    assert seqs == list(range(len(seqs)))  # every frame once, in order
    chunks = [json.loads(f["body"]) for f in frames if f.get("body")]
    assert text_of(chunks) == f"You said: {words}"


async def test_an_idle_resume_probe_is_answered_none_and_a_late_ack_still_replays(
    api_server: str, agent_name: str
) -> None:
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        await a.send({"type": "cf_agent_stream_resume_request", "probeId": "idle"})
        none = await a.next("cf_agent_stream_resume_none")
        assert none == {"type": "cf_agent_stream_resume_none", "reason": "idle", "probeId": "idle"}
        request_id = await a.request([user_message("short")])
        chunks, _ = await a.stream(request_id)
        await a.send({"type": "cf_agent_stream_resume_ack", "id": request_id})  # after the end
        frames = []
        while not (frames and frames[-1].get("done")):
            frames.append(await a.next("cf_agent_use_chat_response", id=request_id))
    assert all(f["replay"] for f in frames)
    assert [json.loads(f["body"]) for f in frames if f["body"]] == chunks


async def test_cancel_stops_the_model_and_keeps_the_partial_answer_as_aborted(api_server: str, agent_name: str) -> None:
    words = " ".join(f"w{i}" for i in range(200))
    async with ChatSocket(api_server, AGENT, agent_name) as a:
        request_id = await a.request([user_message(words)])
        for _ in range(6):
            await a.next("cf_agent_use_chat_response", id=request_id)
        await a.send({"type": "cf_agent_chat_request_cancel", "id": request_id})
        chunks, done = await a.stream(request_id, timeout=10)
    assert done["outcome"] == "aborted"
    assert [c["type"] for c in chunks][-2:] == ["abort", "finish"]
    async with httpx.AsyncClient(base_url=api_server) as http:
        stored = (await http.get(f"/agents/{AGENT}/{agent_name}/get-messages")).json()
        assert (await http.get(f"/agents/{AGENT}/{agent_name}/chat/turn")).json() is None
    text = "".join(p["text"] for p in stored[-1]["parts"] if p["type"] == "text")
    assert text.startswith("You said: w0") and len(text) < len(f"You said: {words}")


async def test_clear_mid_answer_stops_the_turn_and_the_chat_stays_empty(api_server: str, agent_name: str) -> None:
    """Cleared while the model streams: the turn ends aborted, and its partial answer is
    not written back into the emptied transcript (nor sent to the clients as one)."""
    words = " ".join(f"w{i}" for i in range(200))
    async with ChatSocket(api_server, AGENT, agent_name) as a, ChatSocket(api_server, AGENT, agent_name) as b:
        request_id = await a.request([user_message(words)])
        for _ in range(6):
            await a.next("cf_agent_use_chat_response", id=request_id)
        await a.send({"type": "cf_agent_chat_clear"})
        await b.next("cf_agent_chat_clear")
        _, done = await a.stream(request_id, timeout=10)
        assert done["outcome"] == "aborted"
        async with httpx.AsyncClient(base_url=api_server) as http:
            assert (await http.get(f"/agents/{AGENT}/{agent_name}/chat/turn")).json() is None
            assert (await http.get(f"/agents/{AGENT}/{agent_name}/get-messages")).json() == []
            b.frames = asyncio.Queue()
            again = await a.request([user_message("after")])  # the chat goes on
            chunks, _ = await a.stream(again)
            assert text_of(chunks) == "You said: after"
            stored = (await http.get(f"/agents/{AGENT}/{agent_name}/get-messages")).json()
            assert [m["role"] for m in stored] == ["user", "assistant"]
        synced = await b.next("cf_agent_chat_messages")
        assert [m["role"] for m in synced["messages"]] == ["user"]  # the new request's, not the old answer


async def _terminate_turn(http: httpx.AsyncClient, client: Client, agent_name: str) -> str:
    """Terminate the chat's turn's workflow as by hand in Temporal UI; its workflow id."""
    turn = (await http.get(f"/agents/{AGENT}/{agent_name}/chat/turn")).json()
    await client.get_workflow_handle(turn["workflow_id"]).terminate("by hand")
    return str(turn["workflow_id"])


async def test_clear_mends_a_chat_whose_turn_was_terminated_by_hand(
    api_server: str, agent_name: str, client: Client
) -> None:
    """Its turn's workflow terminated in Temporal UI mid-answer, nothing will end the turn:
    clearing the chat (the user's way out) still works, and the chat answers again."""
    words = " ".join(f"w{i}" for i in range(200))
    async with ChatSocket(api_server, AGENT, agent_name) as a, ChatSocket(api_server, AGENT, agent_name) as b:
        request_id = await a.request([user_message(words)])
        await a.next("cf_agent_use_chat_response", id=request_id)
        async with httpx.AsyncClient(base_url=api_server) as http:
            await _terminate_turn(http, client, agent_name)
            await a.send({"type": "cf_agent_chat_clear"})
            await b.next("cf_agent_chat_clear")
            assert (await http.get(f"/agents/{AGENT}/{agent_name}/chat/turn")).json() is None
            assert (await http.get(f"/agents/{AGENT}/{agent_name}/get-messages")).json() == []
        chunks, _ = await a.stream(await a.request([user_message("again")]))
        assert text_of(chunks) == "You said: again"


async def test_regenerate_answers_the_last_message_again_and_clear_forgets(api_server: str, agent_name: str) -> None:
    async with ChatSocket(api_server, AGENT, agent_name) as a, ChatSocket(api_server, AGENT, agent_name) as b:
        hello = user_message("hello")
        first, _ = await a.stream(await a.request([hello]))
        again, done = await a.stream(await a.request([hello], trigger="regenerate-message"))
        assert text_of(again) == text_of(first) and again[0]["messageId"] != first[0]["messageId"]
        async with httpx.AsyncClient(base_url=api_server) as http:
            stored = (await http.get(f"/agents/{AGENT}/{agent_name}/get-messages")).json()
            assert [m["id"] for m in stored] == [hello["id"], again[0]["messageId"]]
            await a.send({"type": "cf_agent_chat_clear"})
            await b.next("cf_agent_chat_clear")
            assert (await http.get(f"/agents/{AGENT}/{agent_name}/get-messages")).json() == []


JS = Path(__file__).parent / "js"


async def test_cloudflares_chat_client_works_unchanged(settings: Settings, node_client: Path, agent_name: str) -> None:
    port = free_port()
    server, task = await serve_api(settings, port)
    try:
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(JS / "chat_check.mjs"),
            f"127.0.0.1:{port}",
            agent_name,
            cwd=JS,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, stderr.decode()[-3000:]
        out = json.loads(stdout.decode().strip().splitlines()[-1])
        assert out["errors"] == [], out["errors"]
    finally:
        server.should_exit = True
        await task
    turn = out["turn"]
    assert turn["text"] == "You said: hello from node"
    assert turn["types"] == ["start", "start-step", "text-start", "text-delta", "text-end", "finish-step", "finish"]
    assert turn["syncedToB"] == 1 and turn["liveFramesB"] == 6 + 5  # every chunk: 6 others and a delta per word
    assert out["tool"] == {"input": {"city": "Lisbon"}, "forecast": "sunny", "text": "It is sunny in Lisbon."}
    resume = out["resume"]
    assert resume["text"] == resume["expected"]  # replayed then live: the whole answer, exactly once
    assert out["approve"]["asked"] and out["approve"]["text"] == "Deployed."
    assert out["approve"]["types"][0] == "tool-output-available"
    assert out["deny"]["text"] == "Not deployed." and out["deny"]["types"][0] == "tool-output-denied"
    assert out["cancel"]["outcome"] == "aborted"
    assert out["idle"]["none"] is True and out["idle"]["ms"] < 2000  # answered, not timed out (5 s)
    assert out["regenerate"]["again"] == out["regenerate"]["first"] and out["regenerate"]["newMessage"]

    # The transcript outlives the API process that served it.
    port = free_port()
    server, task = await serve_api(settings, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            stored = (await http.get(f"/agents/{AGENT}/{agent_name}-turn/get-messages")).json()
    finally:
        server.should_exit = True
        await task
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[1]["parts"][-1] == {"type": "text", "text": "You said: hello from node", "state": "done"}


async def test_the_python_client_chats_approves_and_reads_the_transcript(api_server: str, agent_name: str) -> None:
    async with AgentClient(api_server, AGENT, agent_name) as chat, AgentHttp(api_server, AGENT, agent_name) as web:
        chunks = [chunk async for chunk in chat.chat("hello python")]
        assert text_of(chunks) == "You said: hello python"
        asked = [chunk async for chunk in chat.chat("deploy to staging")]
        call_id = next(c["toolCallId"] for c in asked if c["type"] == "tool-approval-request")
        await web.approve_tool(call_id)
        rest = [chunk async for chunk in chat.resume_chat()]
        assert text_of(rest) == "Deployed."
        assert [chunk async for chunk in chat.resume_chat()] == []  # idle now
        with pytest.raises(AgentHttpError) as refused:
            await web.cancel_chat()
        assert refused.value.status == 404
        stored = await web.get_messages()
    assert [m["role"] for m in stored] == ["user", "assistant", "user", "assistant"]


async def test_a_bug_in_on_chat_message_ends_the_turn_with_its_message(api_server: str, agent_name: str) -> None:
    async with ChatSocket(api_server, "broken-chat", agent_name) as a:
        chunks, done = await a.stream(await a.request([user_message("hello")]), timeout=15)
    assert done["outcome"] == "error"
    assert next(c for c in chunks if c["type"] == "error")["errorText"] == (
        "on_chat_message failed: ValueError: no model configured"
    )
