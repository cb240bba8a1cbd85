"""Frames of the wire protocol, compatible with Cloudflare's `agents` client.

Server -> client on connect, in order:
  {"type": "cf_agent_identity", "name", "agent", "stateFollows": true when state follows}
  {"type": "cf_agent_state", "state"}              (only when the state was ever set)
  {"type": "cf_agent_mcp_servers", "mcp": {...}}
Client -> server:
  {"type": "cf_agent_state", "state"}              set state (validated by the agent)
  {"type": "rpc", "id", "method", "args"}          call a @callable_method
Server -> client afterwards:
  {"type": "cf_agent_state", "state"}              every state change (not to its sender)
  {"type": "cf_agent_state_error", "error"}        a state change from this client was rejected
  {"type": "rpc", "id", "success": true, "result", "done": true}   (done: false for chunks)
  {"type": "rpc", "id", "success": false, "error"}
  {"type": "error", "error"}                       a malformed frame (the connection stays)
  {"type": "workflow_status" | "workflow_progress", ...}           see agents.core.messages
  anything the agent or a workflow broadcasts
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from agents.core.messages import DESTROYED_CLOSE


class CloseCode(IntEnum):
    """The WebSocket close codes the server sends, and what a client should do."""

    POLICY = 1008
    """Refused (authentication, scopes, unknown agent, a bad connection id): final, do not retry."""
    TOO_BIG = 1009
    """A frame over WS_MAX_FRAME_BYTES."""
    SERVICE_RESTART = 1012
    """The server lost its event stream (Redis): reconnect and resync."""
    TRY_AGAIN = 1013
    """Redis unreachable on connect, or the client read too slowly: reconnect and resync."""
    DESTROYED = DESTROYED_CLOSE[0]
    """The agent was destroyed (`Agent.destroy`); a reconnect finds it new, with its initial state."""


MCP_EMPTY = {"type": "cf_agent_mcp_servers", "mcp": {"servers": {}, "tools": [], "prompts": [], "resources": []}}


def identity(name: str, agent: str, *, state_follows: bool) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "cf_agent_identity", "name": name, "agent": agent}
    if state_follows:
        frame["stateFollows"] = True  # the client resolves `ready` once the state arrived
    return frame


def state(value: Any) -> dict[str, Any]:
    return {"type": "cf_agent_state", "state": value}


def state_error(message: str) -> dict[str, Any]:
    return {"type": "cf_agent_state_error", "error": message}


def rpc_result(call_id: Any, result: Any, *, done: bool = True) -> dict[str, Any]:
    """`result` already JSON data (`agents.actor.rpc.rpc_json`)."""
    return {"type": "rpc", "id": call_id, "success": True, "result": result, "done": done}


def rpc_error(call_id: Any, message: str) -> dict[str, Any]:
    return {"type": "rpc", "id": call_id, "success": False, "error": message}


def error(message: str) -> dict[str, Any]:
    return {"type": "error", "error": message}


def close_reason(reason: str) -> str:
    """A close frame's reason is at most 123 bytes of UTF-8: cut there, never mid-character."""
    return reason.encode()[:123].decode("utf-8", errors="ignore")
