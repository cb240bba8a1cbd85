"""`AgentId`: who an agent is, all that the store and control services need of it."""

from __future__ import annotations

from typing import Protocol

from agents.core.keys import AgentKeys


class AgentId(Protocol):
    """An agent's identity: its type, its name and its Redis keys. An `Agent` is one;
    services take this, never the Agent itself, so they cannot reach into its code."""

    @property
    def agent_type(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def keys(self) -> AgentKeys: ...
