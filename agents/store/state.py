"""Agent state in Redis: atomic writes, ordered broadcasts, idempotent retries.

State is a JSON object stored as a hash with one field per top-level key (the value
is that key's JSON). A shallow merge is then a plain HSET: atomic, no read-modify-write,
so concurrent merges from many workflows never lose an update. One Lua script applies
every kind of write, bumps the version, and PUBLISHes the new snapshot inside the same
atomic step (`lua/state_write.lua`), so clients see broadcasts in write order whatever
process wrote. The same script checks the agent's turn (see `_turns`): a write either carries the token of the
turn it is made in, or is made while no turn is held or waited for.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis

from agents.core.errors import TurnLostError
from agents.core.keys import AgentKeys
from agents.core.messages import state_broadcast_parts
from agents.store.connection import is_cluster
from agents.store.scripts import lua

EFFECT_TTL_SECONDS = 7 * 24 * 3600

_BROADCAST_PARTS = state_broadcast_parts()
"""The state broadcast's envelope for a write no client made (most of them)."""

WriteMode = Literal["set", "merge"]
"""`set` replaces the state; `merge` replaces its top-level keys that the write names."""


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    state: dict[str, Any] | None
    """None when the state was never written (the agent's initial state applies)."""
    version: int
    born: str = ""
    """The agent's incarnation, read with a turn: '' until an activation with `on_start`
    marks one, and again after `destroy()` (see `Activations`)."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    state: dict[str, Any]
    version: int
    applied: bool
    """False when the effect marker showed this write was already applied."""


class TurnBusy(Exception):
    """A write made outside a turn found the agent's turn held or waited for."""


def decode_snapshot(is_set: str, version: int | str, snap: str, born: str = "") -> StateSnapshot:
    return StateSnapshot(json.loads(snap) if is_set else None, int(version), born)


def _pairs(obj: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in obj.items():
        if not isinstance(key, str):
            raise TypeError(f"state keys must be strings, got {key!r}")
        out += [key, json.dumps(value, separators=(",", ":"))]
    return out


class StateStore:
    """Reads and writes agents' state. One instance per process, shared by all agents."""

    def __init__(self, redis: Redis, *, prefix: str, wait_replicas: int = 0) -> None:
        self._redis = redis
        self._prefix = prefix
        self._wait_replicas = wait_replicas
        self._write = redis.register_script(lua("snapshot", "state_write"))
        self._read = redis.register_script(lua("snapshot", "state_read"))

    async def mark_born(self, keys: AgentKeys) -> str:
        """Mark the agent's incarnation (see Activations) unless one is marked; the mark."""
        born = secrets.token_hex(8)
        if await self._redis.hsetnx(keys.meta, "born", born):
            return born
        return await self._redis.hget(keys.meta, "born") or born

    def keys(self, agent_type: str, name: str) -> AgentKeys:
        return AgentKeys(self._prefix, agent_type, name)

    async def read(self, keys: AgentKeys) -> StateSnapshot:
        return decode_snapshot(*await self._read(keys=[keys.state, keys.meta]))

    async def write(
        self,
        keys: AgentKeys,
        *,
        mode: WriteMode,
        values: dict[str, Any],
        initial: dict[str, Any],
        exclude: list[str] | None = None,
        effect_id: str | None = None,
        turn_token: str | None = None,
    ) -> WriteResult:
        """Apply a `set` (replace) or `merge` (shallow) and broadcast the new state.

        With `effect_id`, a write already applied under that id is not applied again
        (a retried activity). With `turn_token`, the write is applied only while that
        token holds the agent's turn (TurnLostError if not); without, only while no turn
        is held or waited for (TurnBusy if one is).
        """
        if mode not in ("set", "merge"):
            raise ValueError(f"unknown state write mode {mode!r}")
        initial_pairs = _pairs(initial)
        args = [
            mode,
            "",
            *(state_broadcast_parts(exclude) if exclude else _BROADCAST_PARTS),
            EFFECT_TTL_SECONDS if effect_id else 0,
            turn_token or "",
            len(initial_pairs) // 2,
            *initial_pairs,
            *_pairs(values),
        ]
        version, snap, status = await self._write(
            keys=[keys.state, keys.meta, keys.effect(effect_id or "-"), keys.turn, keys.turn_queue, keys.channel],
            args=args,
        )
        if status == -2:
            raise TurnBusy(f"{keys.agent_type}/{keys.name} is in a turn")
        if status == -3:
            raise TurnLostError(
                f"this call's turn on {keys.agent_type}/{keys.name} lapsed before the write (the process "
                "stalled past the turn's lease, or Redis was unreachable); the write was not applied",
                agent=f"{keys.agent_type}/{keys.name}",
            )
        if self._wait_replicas and status == 1:
            await wait_for_replicas(self._redis, keys.state, self._wait_replicas)
        return WriteResult(json.loads(snap), int(version), status == 1)


async def wait_for_replicas(redis: Redis, key: str, replicas: int, timeout_ms: int = 200) -> int:
    """WAIT on the server that holds `key` (on a cluster, its shard's primary) until
    `replicas` replicas have every write made so far; how many did in time."""
    if is_cluster(redis):
        node = redis.get_node_from_key(key)  # type: ignore[attr-defined]
        return int(await redis.execute_command("WAIT", replicas, timeout_ms, target_nodes=node))
    return int(await redis.execute_command("WAIT", replicas, timeout_ms))
