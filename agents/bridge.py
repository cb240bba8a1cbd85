"""What the bridge activities (package `activities`) use of the agent layer to apply a
workflow's effects: state writes applied once, status messages, agent calls in the
agent's turn. App code does not need this module; it is public so that the bridge
reaches the agent layer only through public doors."""

from __future__ import annotations

from typing import Any

from agents.actor.agent import WORKFLOW, Agent, enter, maybe_await
from agents.actor.callbacks import SKIPPED, run_callback
from agents.core.messages import workflow_progress, workflow_status
from agents.core.records import QueuedCall, ScheduledCall
from agents.store.state import EFFECT_TTL_SECONDS, WriteMode
from agents.store.tracking import Transition, now_ms

__all__ = [
    "EFFECT_TTL_SECONDS",
    "SKIPPED",
    "QueuedCall",
    "ScheduledCall",
    "Transition",
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
