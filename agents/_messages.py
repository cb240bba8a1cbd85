"""Messages the framework sends to an agent's WebSocket clients about its runs.

`{"type": "workflow_status", "workflow_id", "workflow_name", "status", ...}` on every
status change (with `result` or `error` when a run finishes), and
`{"type": "workflow_progress", "workflow_id", "workflow_name", "progress"}` on each
`report_progress`. `workflow_id` is the tracking id (the one the HTTP API takes).
"""

from __future__ import annotations

import json
from typing import Any


def envelope(message: Any, *, exclude: list[str] | None = None) -> str:
    """`message` as published on an agent's channel: every API process relays it to its
    clients, except the connections in `exclude` (the sender of a state change)."""
    return json.dumps({"v": None, "exclude": exclude or [], "message": message}, separators=(",", ":"))


def workflow_status(tracking_id: str | None, workflow_name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"type": "workflow_status", "workflow_id": tracking_id, "workflow_name": workflow_name,
            "status": status, **extra}  # fmt: skip


def workflow_progress(tracking_id: str | None, workflow_name: str, progress: Any) -> dict[str, Any]:
    return {"type": "workflow_progress", "workflow_id": tracking_id, "workflow_name": workflow_name,
            "progress": progress}  # fmt: skip
