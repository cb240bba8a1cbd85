"""An agent method called by name for a scheduled or queued call, in the agent's turn."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from agents.actor.agent import Agent, callback_name, enter, interleaves, maybe_await

SKIPPED = object()
"""What `run_callback` returns when the call was cancelled before it could run."""


async def run_callback(agent: Agent[Any], method: str, load: Callable[[], Awaitable[Any]]) -> Any:
    """Call `agent.method` for a scheduled or queued call, in the agent's turn, with as
    many of (payload, item) as it takes (Cloudflare passes both; JS drops the extra).
    `load` reads the item (a ScheduledCall or QueuedCall) once the turn is had: one
    cancelled, dequeued or destroyed while the call waited for the turn is None, and the
    call does not run (SKIPPED)."""
    fn = getattr(agent, callback_name(agent, method))
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        taken = 2
    else:
        taken = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)

    async def call() -> Any:
        item = await load()
        if item is None:
            return SKIPPED
        return await maybe_await(fn(*(item.payload, item)[: min(taken, 2)]))

    if interleaves(fn):
        call.__agent_interleave__ = True  # type: ignore[attr-defined]
    return await enter(agent, call)
