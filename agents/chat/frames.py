"""What a chat agent does with each frame of Cloudflare's chat client (`protocol.CLIENT_FRAMES`).

Frames that change the conversation run in the agent's turn, so they take effect in the
order the client sent them (an approval, then the resume probe that picks up its
continuation). What goes wrong is raised as an `AgentError` for the socket to send as an
error frame; a chat request's own failure is sent as that request's error response.
"""

from __future__ import annotations

import json
from typing import Any

import structlog

from agents.chat import protocol
from agents.chat.agent import ChatAgent
from agents.core.errors import AgentError, ValidationError

log = structlog.get_logger("agents.chat")


async def handle_chat_frame(agent: ChatAgent, connection: Any, frame: dict[str, Any]) -> None:
    kind = frame["type"]
    if kind == protocol.USE_CHAT_REQUEST:
        await _request(agent, connection, frame)
    elif kind == protocol.CHAT_REQUEST_CANCEL:
        async with agent.turn():  # after the request it cancels (it may be queued just now)
            await agent.cancel_turn(_text(frame, "id"))
    elif kind == protocol.STREAM_RESUME_REQUEST:
        async with agent.turn():  # after an approval sent just before it (its continuation)
            await offer_resume(agent, connection, frame.get("probeId"), answer_idle=True)
    elif kind == protocol.STREAM_RESUME_ACK:
        await _replay(agent, connection, _text(frame, "id"))
    elif kind == protocol.CHAT_CLEAR:
        async with agent.turn():
            await agent.clear()
            await agent.broadcast({"type": protocol.CHAT_CLEAR}, exclude=[connection.id])
    elif kind == protocol.CHAT_MESSAGES:
        async with agent.turn():
            if await agent.active_turn() is not None:
                raise ValidationError("the transcript cannot be replaced while a chat turn is in progress")
            await agent.persist_messages(frame.get("messages"), exclude=[connection.id])
    elif kind == protocol.TOOL_APPROVAL:
        await agent.decide_tool_call(_text(frame, "toolCallId"), approved=bool(frame.get("approved")))
    elif kind == protocol.TOOL_RESULT:
        error = frame.get("errorText") if frame.get("state") == "output-error" else None
        await agent.decide_tool_call(_text(frame, "toolCallId"), output=frame.get("output"), error=error)


def _text(frame: dict[str, Any], field: str) -> str:
    value = frame.get(field)
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ValidationError(f"{frame['type']} needs '{field}' (a string of 1-200 characters)")
    return value


async def _request(agent: ChatAgent, connection: Any, frame: dict[str, Any]) -> None:
    request_id = frame.get("id")
    try:
        request_id = _text(frame, "id")
        body = _body(frame)
        trigger = body.pop("trigger", "submit-message")
        sent = body.pop("messages", None)
        async with agent.turn():
            await agent.take_request(request_id, sent=sent, trigger=trigger, body=body, exclude=[connection.id])
    except AgentError as err:
        connection.send(protocol.error_frame(request_id, err.message))


def _body(frame: dict[str, Any]) -> dict[str, Any]:
    init = frame.get("init")
    raw = init.get("body") if isinstance(init, dict) else None
    try:
        body = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValidationError("cf_agent_use_chat_request needs init.body: a JSON object {messages, trigger}")
    return body


async def offer_resume(agent: ChatAgent, connection: Any, probe_id: Any = None, *, answer_idle: bool) -> None:
    """Tell `connection` of the stream in progress (it then acknowledges, and gets the
    replay), holding its live frames back meanwhile; or that there is none."""
    turn = await agent.active_turn()
    if turn is not None and turn["status"] == "streaming":
        connection.hold_stream(turn["request_id"])
        connection.send(protocol.resuming(turn["request_id"], probe_id))
    elif answer_idle:
        connection.send(protocol.resume_none(probe_id))


async def _replay(agent: ChatAgent, connection: Any, request_id: str) -> None:
    """The frames of `request_id` sent so far, marked as a replay; then live ones follow
    (or, if it ended meanwhile, its `done` was among them)."""
    frames = await agent.chat.frames(request_id)
    for frame in frames:
        connection.send_json({**frame, "replay": True})
    if not any(frame.get("done") for frame in frames):
        if frames or await agent.chat.turn() is not None:
            connection.send_json(protocol.replay_complete(request_id))
        else:  # long gone (its frames expired): end the client's wait
            connection.send_json(protocol.done_frame(request_id, "completed", [], 0) | {"replay": True})
    connection.release_stream(request_id, frames[-1]["seq"] if frames else -1)
