"""Redis key layout.

Every key of one agent carries the hash tag `{type:name}`, so all of an agent's keys
live in one Redis Cluster slot and the multi-key Lua scripts stay legal there.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgentKeys:
    prefix: str
    agent_type: str
    name: str

    @property
    def _base(self) -> str:
        return f"{self.prefix}{{{self.agent_type}:{self.name}}}"

    @property
    def state(self) -> str:
        """Hash: one field per top-level state key, each value JSON."""
        return f"{self._base}:state"

    @property
    def meta(self) -> str:
        """Hash: `set` (state was ever written) and `version` (bumped on every write)."""
        return f"{self._base}:meta"

    @property
    def channel(self) -> str:
        """Pub/sub channel every API process subscribes to for this agent's clients."""
        return f"{self._base}:events"

    @property
    def lock(self) -> str:
        """Mutex that serializes agent methods invoked from workflows."""
        return f"{self._base}:lock"

    def effect(self, effect_id: str) -> str:
        """Marker that a durable effect (identified by its activity) was applied."""
        return f"{self._base}:fx:{effect_id}"

    def run(self, tracking_id: str) -> str:
        """Hash: the tracking row of one run."""
        return f"{self._base}:run:{tracking_id}"

    @property
    def runs(self) -> str:
        """Sorted set of every tracked run id, scored by creation time (ms)."""
        return f"{self._base}:runs"

    def runs_by_status(self, status: str) -> str:
        return f"{self._base}:runs:status:{status}"

    def runs_by_name(self, workflow_name: str) -> str:
        return f"{self._base}:runs:name:{workflow_name}"
