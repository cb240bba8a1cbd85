"""Demo: the offline model the demo's chat agent answers with when `CHAT_MODEL` is unset,
so `make dev` chats with no API key. Deterministic, and streamed like a real one:

- `... weather in Paris ...`: calls `get_weather(city="Paris")`, then says `It is sunny in Paris.`
- `... deploy ...`: calls `deploy(target=...)` (which needs approval), then says
  `Deployed.` or `Not deployed.`
- anything else: `You said: <the text>`, one word per chunk, about 30 ms apart.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

from pydantic_ai.messages import ModelMessage, ModelRequest, ToolReturnPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel

WORD_DELAY = 0.03
"""Seconds between the words of an answer."""
_WEATHER = re.compile(r"(?i:weather in )([A-Z][\w'-]*(?: [A-Z][\w'-]*)*)")
"""`weather in <City>`: the city is the capitalised words that follow (`New York`)."""
_DEPLOY_TARGET = re.compile(r"deploy(?:\s+(?:to\s+)?([A-Za-z0-9_-]+))?", re.IGNORECASE)


async def _words(text: str) -> AsyncIterator[str]:
    for i, word in enumerate(text.split(" ")):
        if i:
            await asyncio.sleep(WORD_DELAY)
        yield word if i == 0 else " " + word


def _last_user_text(messages: list[ModelMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, ModelRequest):
            for part in reversed(message.parts):
                if isinstance(part, UserPromptPart):
                    return part.content if isinstance(part.content, str) else " ".join(map(str, part.content))
    return ""


async def demo_stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str | DeltaToolCalls]:
    last = messages[-1] if messages else None
    returns = [p for p in last.parts if isinstance(p, ToolReturnPart)] if isinstance(last, ModelRequest) else []
    if returns:  # the tools ran: say what came of them
        part = returns[-1]
        if part.tool_name == "get_weather":
            text = f"It is sunny in {part.content['city'] if isinstance(part.content, dict) else part.content}."
        elif part.tool_name == "deploy":
            text = "Deployed." if isinstance(part.content, dict) and part.content.get("deployed") else "Not deployed."
        else:
            text = "Done."
        async for word in _words(text):
            yield word
        return
    said = _last_user_text(messages)
    if weather := _WEATHER.search(said):
        yield {0: DeltaToolCall(name="get_weather", json_args=json.dumps({"city": weather.group(1).strip()}))}
        return
    if deploy := _DEPLOY_TARGET.search(said):
        yield {0: DeltaToolCall(name="deploy", json_args=json.dumps({"target": deploy.group(1) or "production"}))}
        return
    async for word in _words(f"You said: {said}"):
        yield word


def demo_model() -> FunctionModel:
    return FunctionModel(stream_function=demo_stream, model_name="demo")
