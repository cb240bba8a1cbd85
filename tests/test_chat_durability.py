"""Chat turns survive their processes: a worker SIGKILLed mid-answer (the turn goes on
elsewhere; the interrupted model request runs again, the completed tool call does not)."""

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
from agents import AgentRuntime
from tests.chat_helpers import ChatSocket, text_of, user_message
from tests.fake_openai import FakeOpenAI
from tests.helpers import start_entry_point

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
