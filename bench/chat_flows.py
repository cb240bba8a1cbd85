"""The framework side of the chat benchmarks (bench/chat.py): a chat agent answering with
the stamped model, its size and pace taken from the request body (`tokens`, `delay`)."""

from __future__ import annotations

from typing import Any

from agents.chat import ChatAgent, ChatReply, ChatRequest
from bench.chat_model import stamped_model


class BenchChat(ChatAgent[dict[str, Any]]):
    async def on_chat_message(self, request: ChatRequest) -> ChatReply:
        tokens = int(request.body.get("tokens", 200))
        delay = float(request.body.get("delay", 0.0))
        return ChatReply(model=stamped_model(tokens, delay))
