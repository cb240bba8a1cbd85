"""Chat: the stamped model's tokens from the model activity to WebSocket clients, each
figure beside a baseline measured in the same run.

- `chunk_latency`: token send time -> arrival at a client of the chat agent, against the
  same tokens carried by Temporal's Workflow Streams to a subscriber.
- `time_to_first_token`: request sent -> first token at the client, against the same
  model streamed by a plain FastAPI WebSocket endpoint (no Temporal), and against raw
  Temporal's start-to-activity latency plus the model's own first-token time.
- `concurrent_chats`: 100 chats at once, 200 tokens each at a model's pace: tokens per
  second delivered against the plain endpoint, and against Temporal's floor for the same
  turns (each a workflow whose activity streams the model and drops the tokens: what
  Temporal alone costs, delivering nothing); CPU per 1,000 tokens and per process
  (bench/chat_throughput.py).
- `resume_replay`: a 2,000-chunk answer replayed to a client that acknowledges its
  resume, against reading the same list from Redis directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

import uvicorn
import websockets
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from pydantic_ai.direct import model_request_stream
from pydantic_ai.messages import ModelRequest, PartDeltaEvent, PartStartEvent, TextPart, TextPartDelta
from temporalio.contrib.workflow_streams import WorkflowStreamClient

from bench._stack import RAW_QUEUE, Stack, ratio, summary
from bench.chat_model import stamped_model, stamps
from bench.chat_throughput import concurrent_chats
from bench.raw_chat import TOPIC, TokensInput
from devstack import free_port

AGENT = "bench-chat"


class ChatConnection:
    """One WebSocket client of a chat agent, reading Cloudflare's chat frames."""

    def __init__(self, stack: Stack, name: str) -> None:
        self.url = f"{stack.api_url.replace('http', 'ws')}/agents/{AGENT}/{name}"

    async def __aenter__(self) -> ChatConnection:
        self.ws = await websockets.connect(self.url, max_size=None)
        for _ in range(2):  # identity, mcp
            await self.ws.recv()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()

    async def request(self, tokens: int, delay: float) -> str:
        request_id = uuid.uuid4().hex[:8]
        message = {"id": uuid.uuid4().hex, "role": "user", "parts": [{"type": "text", "text": "go"}]}
        body = json.dumps({"messages": [message], "trigger": "submit-message", "tokens": tokens, "delay": delay})
        await self.ws.send(json.dumps({"type": "cf_agent_use_chat_request", "id": request_id, "init": {"body": body}}))
        return request_id

    async def frames(self, request_id: str) -> Any:
        """(arrival time, frame) of each frame of `request_id` until its `done`."""
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), 60))
            if frame.get("type") != "cf_agent_use_chat_response" or frame.get("id") != request_id:
                continue
            if frame.get("error"):
                raise RuntimeError(frame["body"])
            yield time.time(), frame
            if frame.get("done"):
                return


def _deltas(frame: dict[str, Any]) -> str:
    if not frame.get("body"):
        return ""
    chunk = json.loads(frame["body"])
    return chunk.get("delta", "") if chunk["type"] == "text-delta" else ""


async def _ours_latency(stack: Stack, tokens: int, delay: float) -> list[float]:
    samples: list[float] = []
    async with ChatConnection(stack, f"lat-{uuid.uuid4().hex[:8]}") as chat:
        request_id = await chat.request(tokens, delay)
        async for arrived, frame in chat.frames(request_id):
            samples += [(arrived - sent) * 1000 for sent in stamps(_deltas(frame))]
    return samples


async def _streams_latency(stack: Stack, tokens: int, delay: float) -> list[float]:
    workflow_id = f"raw-stream-{uuid.uuid4().hex[:8]}"
    await stack.raw_temporal.start_workflow(
        "raw_streamed_chat", TokensInput(tokens, delay), id=workflow_id, task_queue=RAW_QUEUE
    )
    samples: list[float] = []
    subscriber = WorkflowStreamClient.create(stack.raw_temporal, workflow_id)
    async for item in subscriber.subscribe(TOPIC, result_type=str):
        samples += [(time.time() - sent) * 1000 for sent in stamps(item.data)]
        if len(samples) >= tokens:
            break
    return samples


async def _chunk_latency(stack: Stack, quick: bool) -> dict[str, Any]:
    tokens, delay = (50, 0.01) if quick else (1000, 0.005)
    await _ours_latency(stack, 20, 0.005)  # warm-up
    await _streams_latency(stack, 20, 0.005)
    ours = summary(await _ours_latency(stack, tokens, delay))
    streams = summary(await _streams_latency(stack, tokens, delay))
    return {
        "tokens": tokens,
        "token_interval_ms": delay * 1000,
        "ours": ours,
        "workflow_streams": streams,
        "ratio_p50": ratio(ours["p50_ms"], streams["p50_ms"]),
        "target": {"p50_ms_max": 10, "ratio_p50_max": 0.1},
    }


class PlainChat:
    """The baseline without Temporal: a FastAPI WebSocket endpoint that streams the same
    model in its own process, one text frame per token, then `done`."""

    def __init__(self) -> None:
        self.app = FastAPI()
        self.app.add_api_websocket_route("/chat", self._chat)
        self.port = free_port()

    async def _chat(self, websocket: WebSocket) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):  # a client that got its answer leaves
            while True:
                await self._answer(websocket, await websocket.receive_json())

    async def _answer(self, websocket: WebSocket, ask: dict[str, Any]) -> None:
        model = stamped_model(ask["tokens"], ask["delay"])
        async with model_request_stream(model, [ModelRequest.user_text_prompt("go")]) as stream:
            async for event in stream:
                text = _event_text(event)
                if text:
                    await websocket.send_text(json.dumps({"delta": text}))
        await websocket.send_text(json.dumps({"done": True}))

    async def __aenter__(self) -> PlainChat:
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        await self.task

    async def chat(self, tokens: int, delay: float) -> tuple[float, int]:
        """(ms to the first token, tokens received) of one answer on a new connection."""
        async with websockets.connect(f"ws://127.0.0.1:{self.port}/chat") as ws:
            began = time.perf_counter()
            await ws.send(json.dumps({"tokens": tokens, "delay": delay}))
            first, count = None, 0
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("done"):
                    return first or 0.0, count
                count += len(stamps(frame["delta"]))
                first = first or (time.perf_counter() - began) * 1000


def _event_text(event: Any) -> str:
    if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
        return event.part.content
    if isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
        return event.delta.content_delta
    return ""


async def _ours_answer(stack: Stack, tokens: int, delay: float) -> tuple[float, int]:
    """(ms to the first token, tokens received) of one turn on a new connection."""
    async with ChatConnection(stack, f"c-{uuid.uuid4().hex[:8]}") as chat:
        began = time.perf_counter()
        request_id = await chat.request(tokens, delay)
        first, count = None, 0
        async for _, frame in chat.frames(request_id):
            if text := _deltas(frame):
                count += len(stamps(text))
                first = first or (time.perf_counter() - began) * 1000
        return first or 0.0, count


async def _model_first_token() -> float:
    began = time.perf_counter()
    async with model_request_stream(stamped_model(5, 0), [ModelRequest.user_text_prompt("go")]) as stream:
        async for event in stream:
            if _event_text(event):
                return (time.perf_counter() - began) * 1000
    return 0.0


async def _start_to_activity(stack: Stack) -> float:
    began = time.time()
    started = await stack.raw_temporal.execute_workflow(
        "raw_first_activity", id=f"raw-first-{uuid.uuid4().hex[:8]}", task_queue=RAW_QUEUE, result_type=float
    )
    return (started - began) * 1000


async def _time_to_first_token(stack: Stack, plain: PlainChat, quick: bool) -> dict[str, Any]:
    reps = 5 if quick else 40
    ours, plain_ms, raw_ms, model_ms = [], [], [], []
    for i in range(reps + 2):  # two warm-up rounds, the sides taken in turns
        o, p, r, m = (await _ours_answer(stack, 5, 0))[0], (await plain.chat(5, 0))[0], 0.0, 0.0
        r = await _start_to_activity(stack)
        m = await _model_first_token()
        if i >= 2:
            ours.append(o), plain_ms.append(p), raw_ms.append(r), model_ms.append(m)
    result = {"ours": summary(ours), "plain_websocket": summary(plain_ms), "raw_start_to_activity": summary(raw_ms)}
    result["model_first_token"] = summary(model_ms)
    floor = result["raw_start_to_activity"]["p50_ms"] + result["model_first_token"]["p50_ms"]
    result["ratio_p50_to_raw_plus_model"] = ratio(result["ours"]["p50_ms"], floor)
    result["target"] = {"ratio_p50_to_raw_plus_model_max": 1.3}
    return result


async def _resume_replay(stack: Stack, quick: bool) -> dict[str, Any]:
    tokens = 200 if quick else 2000
    name = f"replay-{uuid.uuid4().hex[:8]}"
    async with ChatConnection(stack, name) as chat:
        request_id = await chat.request(tokens, 0)
        async for _ in chat.frames(request_id):
            pass
    key = stack.runtime.agent(AGENT, name).keys.chat_stream(request_id)
    ours_ms, raw_ms = [], []
    for _ in range(3 if quick else 10):
        async with ChatConnection(stack, name) as late:
            began = time.perf_counter()
            await late.ws.send(json.dumps({"type": "cf_agent_stream_resume_ack", "id": request_id}))
            replayed = [f async for _, f in late.frames(request_id)]
            ours_ms.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        raw = [json.loads(f) for f in await stack.redis.lrange(key, 0, -1)]
        raw_ms.append((time.perf_counter() - began) * 1000)
    assert len(replayed) == len(raw), (len(replayed), len(raw))
    ours, baseline = summary(ours_ms), summary(raw_ms)
    return {
        "chunks": len(raw),
        "ours_ack_to_last_chunk": ours,
        "redis_read_alone": baseline,
        "ratio_p50": ratio(ours["p50_ms"], baseline["p50_ms"]),
        "target": {"p50_ms_max": 200},
    }


async def run(stack: Stack, *, quick: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {"chunk_latency": await _chunk_latency(stack, quick)}
    async with PlainChat() as plain:
        results["time_to_first_token"] = await _time_to_first_token(stack, plain, quick)
        results["concurrent_chats"] = await concurrent_chats(stack, plain.port, quick=quick)
    results["resume_replay"] = await _resume_replay(stack, quick)
    return results
