"""Messages the framework sends to an agent's WebSocket clients about its runs.

`{"type": "workflow_status", "workflow_id", "workflow_name", "status", ...}` on every
status change (with `result` or `error` when a run finishes), and
`{"type": "workflow_progress", "workflow_id", "workflow_name", "progress"}` on each
`report_progress`. `workflow_id` is the tracking id (the one the HTTP API takes).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import to_json

from agents.core.tracing import traceparent


def envelope(message: Any, *, exclude: list[str] | None = None, v: Any = None, tags: list[str] | None = None) -> str:
    """`message` as published on an agent's channel: every API process relays it to its
    clients, except the connections in `exclude` (the sender of a state change), and
    with `tags` only to connections with one of them. `v`: the state version a state
    broadcast carries (clients skip older snapshots). `tp`, when a span is being
    recorded: its traceparent, which the relaying process links to."""
    data: dict[str, Any] = {"v": v, "exclude": exclude or [], "message": message}
    if tags:
        data["tags"] = tags
    if (parent := traceparent()) is not None:
        data["tp"] = parent
    return json.dumps(data, separators=(",", ":"))


def batch_envelope(frames: list[str], *, chat: tuple[str, int]) -> str:
    """Frames of a chat stream (each already JSON text, sent as is) published together:
    every API process relays each to its clients as a frame of its own. `chat`: the
    request id and the sequence number of the first (the others follow in order); a
    connection resuming that stream holds them back until it has replayed what came before."""
    data: dict[str, Any] = {"batch": frames, "c": chat}
    if (parent := traceparent()) is not None:
        data["tp"] = parent
    return to_json(data).decode()  # pydantic's encoder: a sixth of json.dumps's time


DESTROYED_CLOSE = (4000, "agent destroyed")
"""The WebSocket close code and reason clients of a destroyed agent get."""


def close_envelope(code: int, reason: str) -> str:
    """Published on an agent's channel: every API process closes the agent's clients."""
    return json.dumps({"close": [code, reason]}, separators=(",", ":"))


_VERSION_HOLE, _STATE_HOLE = "\x00version\x00", "\x00state\x00"

WORKFLOW_NAME_HOLE = "\x00workflow_name\x00"
"""A message's `workflow_name` that the run transition script fills in from the row (a
control that knows only the run's id announces a status change in the same one call)."""


def state_broadcast_parts(exclude: list[str] | None = None) -> tuple[str, str, str]:
    """The envelope of a state broadcast in three parts, around the two things only the
    write script knows (the new version and state): `head + version + middle + state +
    tail` is `envelope({"type": "cf_agent_state", "state": ...}, v=version)`."""
    text = envelope({"type": "cf_agent_state", "state": _STATE_HOLE}, exclude=exclude, v=_VERSION_HOLE)
    head, rest = text.split(json.dumps(_VERSION_HOLE))
    middle, tail = rest.split(json.dumps(_STATE_HOLE))
    return head, middle, tail


def workflow_status(tracking_id: str | None, workflow_name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "workflow_status",
        "workflow_id": tracking_id,
        "workflow_name": workflow_name,
        "status": status,
        **extra,
    }


def workflow_progress(tracking_id: str | None, workflow_name: str, progress: Any) -> dict[str, Any]:
    return {
        "type": "workflow_progress",
        "workflow_id": tracking_id,
        "workflow_name": workflow_name,
        "progress": progress,
    }
