"""Real-time: the WebSocket protocol (Cloudflare-compatible) and the per-process hub."""

from agents.ws.connection import Connection, ConnectionContext
from agents.ws.endpoint import AgentSockets
from agents.ws.hub import ConnectionHub
from agents.ws.server_protocol import LeanWebSocketProtocol
from agents.ws.streaming import StreamingResponse

__all__ = [
    "AgentSockets",
    "Connection",
    "ConnectionContext",
    "ConnectionHub",
    "LeanWebSocketProtocol",
    "StreamingResponse",
]
