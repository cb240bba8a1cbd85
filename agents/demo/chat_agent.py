"""Demo: `DemoChat` at `/agents/chat-agent/{name}`, Cloudflare's `AIChatAgent` example on
Temporal. Answers with the offline demo model, or with `CHAT_MODEL` (a model name the
model library understands, like `openai:gpt-4o-mini`, with its usual API key variables;
`OPENAI_BASE_URL` points the OpenAI client at any OpenAI-compatible server)."""

from __future__ import annotations

import os
from typing import Any

from agents.chat import ChatAgent, ChatReply, ChatRequest, ChatTool


async def get_weather(city: str) -> dict[str, Any]:
    """The weather forecast for a city.

    Args:
        city: The city's name, like "Paris".
    """
    return {"city": city, "forecast": "sunny", "temperature_c": 21}


async def deploy(target: str) -> dict[str, Any]:
    """Deploy the app. Needs a person's approval first.

    Args:
        target: Where to deploy, like "production".
    """
    return {"deployed": True, "target": target}


class DemoChat(ChatAgent[dict[str, Any]], agent_type="chat-agent"):
    """The demo chat: a weather tool that runs at once, a deploy tool that waits for approval."""

    async def on_chat_message(self, request: ChatRequest) -> ChatReply:
        # Imported here, in the worker that answers: the API process never loads the model
        # library (about 0.9 s of every API process's start).
        from agents.demo.chat_model import demo_model

        return ChatReply(
            model=os.environ.get("CHAT_MODEL") or demo_model(),
            tools=[
                ChatTool(get_weather, retries={"limit": 3, "delay": "1 second"}),
                ChatTool(deploy, needs_approval=True),
            ],
            instructions="You are a helpful assistant. Use the tools when they fit; keep answers short.",
        )
