"""A UI message from the chunks of its stream, as the AI SDK client assembles it.

The stored assistant message is built from the chunks the clients got, not from the
model library's own record of the turn (which splits one streamed answer into a message
per model response): what a client that stayed connected shows and what `get-messages`
returns after a reload are then the same message.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any


def apply_chunks(message: dict[str, Any], chunks: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """`message` (`{id, role, parts}`) with `chunks` applied, as a new dict."""
    out = copy.deepcopy(message)
    parts: list[dict[str, Any]] = out.setdefault("parts", [])
    open_parts: dict[tuple[str, str], dict[str, Any]] = {}

    def tool_part(call_id: Any) -> dict[str, Any] | None:
        return next((p for p in reversed(parts) if p.get("toolCallId") == call_id), None)

    for chunk in chunks:
        kind = chunk.get("type")
        if kind == "start":
            if chunk.get("messageMetadata") is not None:
                out["metadata"] = chunk["messageMetadata"]
        elif kind == "message-metadata":
            out["metadata"] = chunk.get("messageMetadata")
        elif kind == "start-step":
            parts.append({"type": "step-start"})
        elif kind in ("text-start", "reasoning-start"):
            part = {"type": kind.removesuffix("-start"), "text": "", "state": "streaming"}
            parts.append(part)
            open_parts[(part["type"], chunk.get("id", ""))] = part
        elif kind in ("text-delta", "reasoning-delta"):
            part = open_parts.get((kind.removesuffix("-delta"), chunk.get("id", "")))
            if part is not None:
                part["text"] += chunk.get("delta", "")
        elif kind in ("text-end", "reasoning-end"):
            part = open_parts.pop((kind.removesuffix("-end"), chunk.get("id", "")), None)
            if part is not None:
                part["state"] = "done"
        elif kind == "tool-input-start":
            parts.append(
                {
                    "type": f"tool-{chunk.get('toolName')}",
                    "toolCallId": chunk.get("toolCallId"),
                    "state": "input-streaming",
                    "input": None,
                }
            )
        elif kind == "tool-input-available":
            part = tool_part(chunk.get("toolCallId"))
            if part is None:
                part = {"type": f"tool-{chunk.get('toolName')}", "toolCallId": chunk.get("toolCallId")}
                parts.append(part)
            part.update(state="input-available", input=chunk.get("input"))
        elif kind == "tool-approval-request" and (part := tool_part(chunk.get("toolCallId"))):
            part.update(state="approval-requested", approval={"id": chunk.get("approvalId")})
        elif kind == "tool-output-available" and (part := tool_part(chunk.get("toolCallId"))):
            part.update(state="output-available", output=chunk.get("output"))
        elif kind == "tool-output-error" and (part := tool_part(chunk.get("toolCallId"))):
            part.update(state="output-error", errorText=chunk.get("errorText"))
        elif kind == "tool-output-denied" and (part := tool_part(chunk.get("toolCallId"))):
            part.update(state="output-denied")
    for part in open_parts.values():  # an aborted stream: what came is what there is
        part["state"] = "done"
    return out


def approval_responded(message: dict[str, Any], tool_call_id: str, approved: bool) -> dict[str, Any] | None:
    """`message` with the approval of `tool_call_id` answered (a new dict), or None when
    it has no approval request for that call."""
    out = copy.deepcopy(message)
    for part in out.get("parts", []):
        if part.get("toolCallId") == tool_call_id and part.get("state") == "approval-requested":
            part["state"] = "approval-responded"
            part["approval"] = {**part.get("approval", {}), "approved": approved}
            return out
    return None
