"""Cloudflare's chat wire protocol (`agents/chat` in its npm client): the frame types and
the frames a chat agent sends. The client's own code is the contract
(`tests/js/node_modules/agents/dist/ws-chat-transport-*.js`, `wire-types-*.js`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic_core import to_json

USE_CHAT_REQUEST = "cf_agent_use_chat_request"
USE_CHAT_RESPONSE = "cf_agent_use_chat_response"
CHAT_MESSAGES = "cf_agent_chat_messages"
CHAT_CLEAR = "cf_agent_chat_clear"
CHAT_REQUEST_CANCEL = "cf_agent_chat_request_cancel"
STREAM_RESUMING = "cf_agent_stream_resuming"
STREAM_RESUME_ACK = "cf_agent_stream_resume_ack"
STREAM_RESUME_REQUEST = "cf_agent_stream_resume_request"
STREAM_RESUME_NONE = "cf_agent_stream_resume_none"
STREAM_PENDING = "cf_agent_stream_pending"
TOOL_RESULT = "cf_agent_tool_result"
TOOL_APPROVAL = "cf_agent_tool_approval"
MESSAGE_UPDATED = "cf_agent_message_updated"
CHAT_RECOVERING = "cf_agent_chat_recovering"

CLIENT_FRAMES = frozenset(
    {
        USE_CHAT_REQUEST,
        CHAT_MESSAGES,
        CHAT_CLEAR,
        CHAT_REQUEST_CANCEL,
        STREAM_RESUME_REQUEST,
        STREAM_RESUME_ACK,
        TOOL_RESULT,
        TOOL_APPROVAL,
    }
)
"""What a chat client sends; a chat agent answers these itself (not `on_message`)."""

Outcome = Literal["completed", "error", "aborted", "skipped", "recovering"]


def chunk_frame(request_id: str, chunk: dict[str, Any], seq: int, *, continuation: bool = False) -> dict[str, Any]:
    """One UI message-stream chunk of a turn (`body` is the chunk as a JSON string)."""
    frame: dict[str, Any] = {
        "type": USE_CHAT_RESPONSE,
        "id": request_id,
        "body": to_json(chunk).decode(),
        "done": False,
        "seq": seq,
    }
    if continuation:
        frame["continuation"] = True
    return frame


def done_frame(
    request_id: str, outcome: Outcome, message_ids: list[str], seq: int, *, continuation: bool = False
) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": USE_CHAT_RESPONSE,
        "id": request_id,
        "body": "",
        "done": True,
        "seq": seq,
        "outcome": outcome,
        "messageIds": message_ids,
    }
    if continuation:
        frame["continuation"] = True
    return frame


def error_frame(request_id: Any, message: str) -> dict[str, Any]:
    """A request refused or failed: the client's stream errors with `message`."""
    return {"type": USE_CHAT_RESPONSE, "id": request_id, "body": message, "done": True, "error": True}


def replay_complete(request_id: str) -> dict[str, Any]:
    return {
        "type": USE_CHAT_RESPONSE,
        "id": request_id,
        "body": "",
        "done": False,
        "replay": True,
        "replayComplete": True,
    }


def messages_frame(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": CHAT_MESSAGES, "messages": messages}


def resuming(request_id: str, probe_id: Any = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": STREAM_RESUMING, "id": request_id}
    if probe_id is not None:
        frame["probeId"] = probe_id
    return frame


def resume_none(probe_id: Any = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": STREAM_RESUME_NONE, "reason": "idle"}
    if probe_id is not None:
        frame["probeId"] = probe_id
    return frame


def pending(request_id: str, probe_id: Any = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": STREAM_PENDING, "id": request_id}
    if probe_id is not None:
        frame["probeId"] = probe_id
    return frame


def message_updated(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": MESSAGE_UPDATED, "message": message}
