"""Python clients of an agent: `AgentClient` (WebSocket: state, RPC, messages) and
`AgentHttp` (the HTTP workflow API). Only httpx and websockets are needed."""

from agents.client._errors import AgentClientError, AgentHttpError
from agents.client._http import AgentHttp
from agents.client._socket import AgentClient

__all__ = ["AgentClient", "AgentClientError", "AgentHttp", "AgentHttpError"]
