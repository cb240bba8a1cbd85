"""Inline step bodies: `await step.do("fetch", fetch_page, url)` with any async callable
(a closure, a lambda returning an awaitable, a method), as on Cloudflare.

A callable cannot travel through Temporal: it is code, and it may close over the run's
locals. So it never leaves the worker process that runs the workflow. The step parks it
here under a key and runs the framework's local activity `agents.inline_step`, which the
SDK runs in that same process: it takes the callable back, awaits it, and its result goes
into the run's history. A replay answers the step from history and calls nothing; a
worker that dies during the call leaves no result, so the next worker calls it again
(at least once, as for any activity).

The body runs outside the workflow sandbox, as an activity does: it may do I/O, and must
not call `workflow.*`. `self.agent.x()` inside it calls the agent directly (see
`AGENT_CALLS`). This module is passed through the sandbox, so the workflow code and the
activity share one registry; it does nothing at import.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

from . import temporal_internals

_PARKED: dict[str, tuple[Callable[..., Any], tuple[Any, ...], Any]] = {}

AGENT_CALLS: contextvars.ContextVar[Callable[[Any, str, list[Any], Any], Awaitable[Any]] | None] = (
    contextvars.ContextVar("agent_calls_in_inline_step", default=None)
)
"""Set by the inline-step activity: how `self.agent.method(*args)` (or another agent's,
through `get_agent`) reaches the agent from inside a step body, where no workflow call
can be made (args: the run, method, args, the other agent's AgentRef or None)."""


def is_activity(fn: Any) -> bool:
    """A registered Temporal activity (or its name), as opposed to an inline body."""
    return isinstance(fn, str) or temporal_internals.is_activity(fn)


def park(key: str, fn: Callable[..., Any], args: tuple[Any, ...], context: Any = None) -> None:
    """`context`: the step's `StepContext` when the body asks for one (a `ctx` parameter),
    its `attempt` the first of this activity's (the activity's own retries count on)."""
    _PARKED[key] = (fn, args, context)


def unpark(key: str) -> None:
    _PARKED.pop(key, None)


def parked(key: str) -> tuple[Callable[..., Any], tuple[Any, ...], Any]:
    """The callable parked under `key`, its args and context (KeyError if its run is not
    in this process)."""
    return _PARKED[key]
