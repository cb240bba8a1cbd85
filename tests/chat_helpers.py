"""A chat client over a raw WebSocket speaking Cloudflare's chat protocol frame by frame
(the tests that need the npm client itself are in tests/js)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import websockets


def user_message(text: str) -> dict[str, Any]:
    return {"id": f"u-{uuid.uuid4().hex[:8]}", "role": "user", "parts": [{"type": "text", "text": text}]}


class ChatSocket:
    def __init__(self, base_url: str, agent: str, name: str) -> None:
        self.url = f"ws://{base_url.removeprefix('http://')}/agents/{agent}/{name}?_pk={uuid.uuid4().hex[:12]}"
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ChatSocket:
        self._ws = await websockets.connect(self.url)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._ws.close()
        if self._reader:
            self._reader.cancel()

    async def _read(self) -> None:
        async for raw in self._ws:
            await self.frames.put(json.loads(raw))

    async def send(self, frame: dict[str, Any]) -> None:
        await self._ws.send(json.dumps(frame))

    async def request(self, messages: list[dict[str, Any]], *, trigger: str = "submit-message", **body: Any) -> str:
        request_id = uuid.uuid4().hex[:8]
        payload = json.dumps({"messages": messages, "trigger": trigger, **body})
        await self.send(
            {"type": "cf_agent_use_chat_request", "id": request_id, "init": {"method": "POST", "body": payload}}
        )
        return request_id

    async def next(self, type: str, *, timeout: float = 20, **match: Any) -> dict[str, Any]:
        """The next frame of `type` (and the given field values); earlier others are skipped."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frames.get()
                if frame.get("type") == type and all(frame.get(k) == v for k, v in match.items()):
                    return frame

    async def stream(self, request_id: str, *, timeout: float = 30) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The chunks of `request_id` until its `done` (or error) frame: (chunks, last frame)."""
        chunks: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.next("cf_agent_use_chat_response", id=request_id, timeout=timeout)
                if frame.get("error"):
                    return chunks, frame
                if frame.get("body"):
                    chunks.append(json.loads(frame["body"]))
                if frame.get("done"):
                    return chunks, frame


def text_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["delta"] for c in chunks if c["type"] == "text-delta")


def kinds(chunks: list[dict[str, Any]]) -> list[str]:
    """Chunk types with consecutive deltas of one kind collapsed."""
    out: list[str] = []
    for chunk in chunks:
        if not (out and out[-1] == chunk["type"] and chunk["type"].endswith("-delta")):
            out.append(chunk["type"])
    return out
