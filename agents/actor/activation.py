"""An agent's activations: `on_start` once per activation (`destroy()` ends them: `agents.runtime`).

An activation is an agent at work in one process, like an Orleans grain activation or
a Cloudflare Durable Object awake in memory: it begins with the first call the process
makes into the agent and ends after ACTIVATION_IDLE without one (or at `destroy()`).
`on_start` runs in the agent's turn as each activation begins, before that first call.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING

import structlog

from agents.core.keys import AgentKeys

if TYPE_CHECKING:
    pass

log = structlog.get_logger("agents.lifecycle")

ACTIVATION_IDLE = 300.0
"""Seconds without a call after which an activation ends (the next call starts one)."""
_MAX_ACTIVATIONS = 100_000


class Activations:
    """Which agents are active in this process (an LRU of last-call times), and in which
    incarnation: an agent with `on_start` marks each incarnation in Redis (`born`, in its
    meta hash) as its first activation after a `destroy()` begins, and every process
    reads the mark with each turn. A process whose activation belongs to an earlier
    incarnation (the agent was destroyed through another process) begins a new one, so
    `on_start` runs again there too."""

    def __init__(self) -> None:
        self._last: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def begins(self, keys: AgentKeys, born: str = "") -> bool:
        """Record a call in incarnation `born`; True if it begins a new activation."""
        key, now = keys.channel, time.monotonic()
        last, was = self._last.pop(key, (None, ""))
        self._last[key] = (now, born)
        if len(self._last) > _MAX_ACTIVATIONS:
            self._last.popitem(last=False)
        return last is None or now - last > ACTIVATION_IDLE or was != born

    def mark(self, keys: AgentKeys, born: str) -> None:
        """The incarnation this process's activation began (written by `Agent._activate`)."""
        if keys.channel in self._last:
            self._last[keys.channel] = (self._last[keys.channel][0], born)

    def pending(self, keys: AgentKeys) -> bool:
        """Whether the next call would begin a new activation (nothing recorded)."""
        last = self._last.get(keys.channel)
        return last is None or time.monotonic() - last[0] > ACTIVATION_IDLE

    def end(self, keys: AgentKeys) -> None:
        self._last.pop(keys.channel, None)
