"""Real-time: the WebSocket protocol (Cloudflare-compatible) and the per-process hub."""

from .connection import Connection
from .endpoint import router
from .hub import ConnectionHub
from .streaming import StreamingResponse

__all__ = ["Connection", "ConnectionHub", "StreamingResponse", "router"]
