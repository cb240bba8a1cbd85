"""Python clients of an agent: `AgentClient` (WebSocket: state, RPC, messages) and
`AgentHttp` (the HTTP workflow API). Only httpx and websockets are needed."""

from ._errors import AgentClientError, AgentHttpError
from ._http import AgentHttp
from ._socket import AgentClient

__all__ = ["AgentClient", "AgentClientError", "AgentHttp", "AgentHttpError"]
