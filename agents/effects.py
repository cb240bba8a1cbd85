"""What the bridge activities (package `activities`) use of the agent layer to apply a
workflow's effects: state writes applied once, status messages, agent calls in the
agent's turn. App code does not need this module; it is public so that the bridge
reaches the agent layer only through public doors."""

from __future__ import annotations

from typing import Any

from ._agent import WORKFLOW, Agent, enter, maybe_await
from ._calls import SKIPPED, ScheduledCall, run_callback
from ._messages import workflow_progress, workflow_status
from ._queue import QueuedCall
from ._state import EFFECT_TTL_SECONDS, WriteMode
from ._tracking import now_ms

__all__ = [
    "EFFECT_TTL_SECONDS",
    "SKIPPED",
    "QueuedCall",
    "ScheduledCall",
    "run_callback",
    "enter",
    "maybe_await",
    "now_ms",
    "workflow_progress",
    "workflow_status",
    "write_state",
]


async def write_state(agent: Agent[Any], mode: WriteMode, values: dict[str, Any], *, effect_id: str) -> Agent[Any]:
    """A workflow's state write (`set` or `merge`), applied at most once per `effect_id`
    (a retried activity finds its marker), with the agent's state hooks in its turn."""
    await agent._write(mode, values, source=WORKFLOW, effect_id=effect_id)
    return agent
