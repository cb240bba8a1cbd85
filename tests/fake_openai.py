"""A local OpenAI-compatible server (`POST /v1/chat/completions`, streamed as SSE) so the
model library's real OpenAI client and its HTTP streaming run in the tests. The one thing
the tests fake is the model, at the HTTP level. It counts the requests it gets.

What it answers, from the last message it is sent:
- a tool's result: `It is sunny in <city>.` then `words` more words (`w0 w1 ...`);
- a user text with `weather in <City>`: a call of `get_weather(city)`, its arguments in pieces;
- `where am I`, with a `get_location` tool offered: a call of it (the browser's tool);
- `unauthorized`: a 401, as for a bad API key;
- any other user text: `You said: <text>`.
Each chunk goes out `delay` seconds after the one before.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

_WEATHER = re.compile(r"(?i:weather in )([A-Z][\w'-]*(?: [A-Z][\w'-]*)*)")


class FakeOpenAI:
    def __init__(self, *, delay: float = 0.02, words: int = 0) -> None:
        self.delay = delay
        self.words = words
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])])

    async def _completions(self, request: Request) -> Any:
        body = await request.json()
        self.requests.append(body)
        if _text(body["messages"][-1]) == "unauthorized":  # as OpenAI answers a bad key
            error = {
                "message": "Incorrect API key provided",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
            return JSONResponse({"error": error}, status_code=401)
        if not body.get("stream"):
            return JSONResponse({"error": {"message": "only streamed requests are served"}}, status_code=400)
        return StreamingResponse(self._stream(body), media_type="text/event-stream")

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> str:
        data = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": "fake-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(data)}\n\n"

    async def _stream(self, body: dict[str, Any]) -> AsyncIterator[str]:
        last = body["messages"][-1]
        yield self._chunk({"role": "assistant", "content": ""})
        if last["role"] == "tool":
            city = json.loads(last["content"]).get("city", "?") if last["content"].startswith("{") else "?"
            extra = "".join(f" w{i}" for i in range(self.words))
            async for chunk in self._words(f"It is sunny in {city}.{extra}"):
                yield chunk
            yield self._chunk({}, "stop")
        elif "where am I" in _text(last) and "get_location" in _offered(body):  # a tool the browser runs
            call = {"index": 0, "id": f"call_{len(self.requests)}", "type": "function"}
            yield self._chunk({"tool_calls": [{**call, "function": {"name": "get_location", "arguments": "{}"}}]})
            yield self._chunk({}, "tool_calls")
        elif (weather := _WEATHER.search(_text(last))) and body.get("tools"):
            arguments = json.dumps({"city": weather.group(1)})
            call = {"index": 0, "id": f"call_{len(self.requests)}", "type": "function"}
            yield self._chunk({"tool_calls": [{**call, "function": {"name": "get_weather", "arguments": ""}}]})
            for piece in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
                await asyncio.sleep(self.delay)
                yield self._chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            yield self._chunk({}, "tool_calls")
        else:
            async for chunk in self._words(f"You said: {_text(last)}"):
                yield chunk
            yield self._chunk({}, "stop")
        yield "data: [DONE]\n\n"

    async def _words(self, text: str) -> AsyncIterator[str]:
        for i, word in enumerate(text.split(" ")):
            await asyncio.sleep(self.delay)
            yield self._chunk({"content": word if i == 0 else " " + word})


def _offered(body: dict[str, Any]) -> list[str]:
    return [tool["function"]["name"] for tool in body.get("tools") or []]


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""
