"""Chat agents: Cloudflare's `AIChatAgent` on Temporal (docs/guide/chat.md).

`ChatAgent` keeps the conversation and speaks Cloudflare's chat protocol to its clients;
each turn is a durable workflow whose model requests and tool calls are steps, streamed
live to every client. The model library (pydantic-ai, the `ai` extra) is reached only
from `agents.chat.model`, which the worker loads; this front imports none of it.
"""

from agents.chat.agent import CHAT_WORKFLOW_NAME, ChatAgent, ChatReply, ChatRequest, ChatTool, ChatTurnError
from agents.chat.frames import handle_chat_frame, offer_resume
from agents.chat.protocol import CLIENT_FRAMES

__all__ = [
    "CHAT_WORKFLOW_NAME",
    "CLIENT_FRAMES",
    "ChatAgent",
    "ChatReply",
    "ChatRequest",
    "ChatTool",
    "ChatTurnError",
    "handle_chat_frame",
    "offer_resume",
]
