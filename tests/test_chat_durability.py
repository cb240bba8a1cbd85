"""Chat turns survive their processes: a worker SIGKILLed mid-answer (the turn goes on
elsewhere; the interrupted model request runs again, the completed tool call does not),
an API SIGKILLed under its clients, an approval waiting with no worker at all."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from temporalio.client import Client
from temporalio.worker import Worker

from activities import AgentsPlugin
from agents import AgentRuntime, Settings
from devstack import free_port
from tests.chat_helpers import ChatSocket, text_of, user_message
from tests.fake_openai import FakeOpenAI
from tests.helpers import start_api_process, start_entry_point

AGENT = "provider-chat"


@pytest.mark.parametrize("fake_openai", [{"words": 80, "delay": 0.05}], indirect=True)
async def test_a_worker_killed_mid_answer_costs_a_pause_not_the_answer(
    runtime: AgentRuntime,
    client: Client,
    redis: Redis,
    api_server: str,
    agent_name: str,
    fake_openai: FakeOpenAI,
    tmp_path: Path,
) -> None:
    settings = runtime.settings
    log = tmp_path / "worker.log"
    proc = start_entry_point("worker.py", settings, log, FAKE_OPENAI_URL=os.environ["FAKE_OPENAI_URL"])
    expected = "It is sunny in Oslo." + "".join(f" w{i}" for i in range(80))
    try:
        async with ChatSocket(api_server, AGENT, agent_name) as a:
            request_id = await a.request([user_message("what is the weather in Oslo")])
            seen: list[dict] = []
            async with asyncio.timeout(60):
                while sum(c["type"] == "text-delta" for c in seen) < 10:
                    frame = await a.next("cf_agent_use_chat_response", id=request_id, timeout=60)
                    if frame.get("body"):
                        seen.append(json.loads(frame["body"]))
            assert any(c["type"] == "tool-output-available" for c in seen)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            async with Worker(client, task_queue=settings.task_queue, plugins=[AgentsPlugin(runtime)]):
                rest, done = await a.stream(request_id, timeout=60)
                assert done["outcome"] == "recovering"  # the client is told, and resumes
                recovering = await a.next("cf_agent_chat_recovering")
                await a.send({"type": "cf_agent_stream_resume_request", "probeId": "r"})
                resuming = await a.next("cf_agent_stream_resuming", probeId="r")
                assert resuming["id"] == recovering["id"] != request_id
                await a.send({"type": "cf_agent_stream_resume_ack", "id": resuming["id"]})
                resumed, done = await a.stream(resuming["id"], timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert done["outcome"] == "completed"
    # The resumed stream is the whole answer, once: the tool call, its output, the text.
    assert text_of(resumed) == expected
    assert [c["type"] for c in resumed].count("tool-output-available") == 1
    assert await redis.get(f"test:tool-runs:{agent_name}") == "1"  # the completed tool did not run again
    assert len(fake_openai.requests) == 3  # two steps, and the interrupted one again
    async with httpx.AsyncClient(base_url=api_server) as http:
        stored = (await http.get(f"/agents/{AGENT}/{agent_name}/get-messages")).json()
    answer = stored[-1]
    assert [p["text"] for p in answer["parts"] if p["type"] == "text"] == [expected]
    assert len([p for p in answer["parts"] if p["type"] == "tool-get_weather"]) == 1


@pytest.mark.usefixtures("worker")
async def test_clients_of_an_api_killed_mid_answer_resume_on_another(
    settings: Settings, agent_name: str, tmp_path: Path
) -> None:
    """Two API processes, as behind a load balancer: the one serving the chat is killed
    mid-answer; its client reconnects to the other and resumes (replay, then live)."""
    ports = [free_port(), free_port()]
    procs = list(
        await asyncio.gather(
            *(start_api_process(settings, port, tmp_path / f"api{i}.log") for i, port in enumerate(ports))
        )
    )
    words = " ".join(f"w{i}" for i in range(60))
    try:
        async with ChatSocket(f"http://127.0.0.1:{ports[0]}", "chat-agent", agent_name) as a:
            request_id = await a.request([user_message(words)])
            for _ in range(8):
                await a.next("cf_agent_use_chat_response", id=request_id)
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait(10)
        async with ChatSocket(f"http://127.0.0.1:{ports[1]}", "chat-agent", agent_name) as b:
            await b.send({"type": "cf_agent_stream_resume_request", "probeId": "p"})
            resuming = await b.next("cf_agent_stream_resuming", probeId="p")
            await b.send({"type": "cf_agent_stream_resume_ack", "id": resuming["id"]})
            chunks, done = await b.stream(request_id)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert resuming["id"] == request_id and done["outcome"] == "completed"
    assert text_of(chunks) == f"You said: {words}"


async def test_an_approval_waits_across_a_worker_restart(
    runtime: AgentRuntime, client: Client, api_server: str, agent_name: str
) -> None:
    plugin = [AgentsPlugin(runtime)]
    async with ChatSocket(api_server, "chat-agent", agent_name) as a:
        async with Worker(client, task_queue=runtime.settings.task_queue, plugins=plugin):
            chunks, _ = await a.stream(await a.request([user_message("deploy to production")]))
        call_id = next(c["toolCallId"] for c in chunks if c["type"] == "tool-approval-request")
        # No worker now: the turn waits in Temporal, not in a process.
        await a.send({"type": "cf_agent_tool_approval", "toolCallId": call_id, "approved": True})
        await a.next("cf_agent_message_updated")
        async with Worker(client, task_queue=runtime.settings.task_queue, plugins=[AgentsPlugin(runtime)]):
            await a.send({"type": "cf_agent_stream_resume_request", "probeId": "p"})
            resuming = await a.next("cf_agent_stream_resuming", probeId="p")
            await a.send({"type": "cf_agent_stream_resume_ack", "id": resuming["id"]})
            more, done = await a.stream(resuming["id"])
    assert done["outcome"] == "completed" and text_of(more) == "Deployed."
