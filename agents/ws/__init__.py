"""Real-time: the WebSocket protocol (Cloudflare-compatible) and the per-process hub."""

from .connection import Connection
from .endpoint import AgentSockets
from .hub import ConnectionHub
from .server_protocol import LeanWebSocketProtocol
from .streaming import StreamingResponse

__all__ = ["AgentSockets", "Connection", "ConnectionHub", "LeanWebSocketProtocol", "StreamingResponse"]
