"""Agent state in Redis: atomic writes, ordered broadcasts, idempotent retries.

State is a JSON object stored as a hash with one field per top-level key (the value
is that key's JSON). A shallow merge is then a plain HSET: atomic, no read-modify-write,
so concurrent merges from many workflows never lose an update. One Lua script applies
every kind of write, bumps the version, and PUBLISHes the new snapshot inside the same
atomic step, so clients see broadcasts in write order whatever process wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from ._keys import AgentKeys

# The state object as JSON text, built from the hash's fields (each already JSON) so
# no value is decoded: Lua's cjson would turn an empty list into {}.
_SNAPSHOT = """
local function snapshot()
  local flat = redis.call('HGETALL', KEYS[1])
  local parts = {}
  for i = 1, #flat, 2 do
    parts[#parts + 1] = cjson.encode(flat[i]) .. ':' .. flat[i + 1]
  end
  return '{' .. table.concat(parts, ',') .. '}'
end
"""

# KEYS: state, meta, marker ('' for none)
# ARGV: mode (set|merge), channel, exclude_json, marker_ttl_s, expected_version ('' any),
#       n_initial, initial k/v pairs..., then k/v pairs of the write.
_WRITE = _SNAPSHOT + """
local version = tonumber(redis.call('HGET', KEYS[2], 'version') or '0')
if KEYS[3] ~= '' and redis.call('EXISTS', KEYS[3]) == 1 then
  return {version, snapshot(), 0}
end
if ARGV[5] ~= '' and tonumber(ARGV[5]) ~= version then
  return {version, snapshot(), -1}
end
local n_initial = tonumber(ARGV[6])
local first = 7 + 2 * n_initial
if ARGV[1] == 'set' then
  redis.call('DEL', KEYS[1])
elseif redis.call('HEXISTS', KEYS[2], 'set') == 0 then
  for i = 7, first - 1, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
for i = first, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[2], 'set', '1')
version = redis.call('HINCRBY', KEYS[2], 'version', 1)
local snap = snapshot()
redis.call('PUBLISH', ARGV[2],
  '{"v":' .. version .. ',"exclude":' .. ARGV[3] ..
  ',"message":{"type":"cf_agent_state","state":' .. snap .. '}}')
if KEYS[3] ~= '' then redis.call('SET', KEYS[3], '1', 'EX', tonumber(ARGV[4])) end
return {version, snap, 1}
"""

_READ = _SNAPSHOT + """
local meta = redis.call('HMGET', KEYS[2], 'set', 'version')
return {meta[1] or '', tonumber(meta[2] or '0'), snapshot()}
"""

EFFECT_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    state: dict[str, Any] | None
    """None when the state was never written (the agent's initial state applies)."""
    version: int


@dataclass(frozen=True, slots=True)
class WriteResult:
    state: dict[str, Any]
    version: int
    applied: bool
    """False when the effect marker showed this write was already applied."""


class VersionConflict(Exception):
    """An expected-version write lost a race; the caller re-reads and retries."""


def _pairs(obj: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in obj.items():
        if not isinstance(key, str):
            raise TypeError(f"state keys must be strings, got {key!r}")
        out += [key, json.dumps(value, separators=(",", ":"))]
    return out


class StateStore:
    """Reads and writes agents' state. One instance per process, shared by all agents."""

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._write = redis.register_script(_WRITE)
        self._read = redis.register_script(_READ)

    def keys(self, agent_type: str, name: str) -> AgentKeys:
        return AgentKeys(self._prefix, agent_type, name)

    async def read(self, keys: AgentKeys) -> StateSnapshot:
        is_set, version, snap = await self._read(keys=[keys.state, keys.meta])
        return StateSnapshot(json.loads(snap) if is_set else None, int(version))

    async def write(
        self,
        keys: AgentKeys,
        *,
        mode: str,
        values: dict[str, Any],
        initial: dict[str, Any],
        exclude: list[str] | None = None,
        effect_id: str | None = None,
        expected_version: int | None = None,
    ) -> WriteResult:
        """Apply a `set` (replace) or `merge` (shallow) and broadcast the new state.

        With `effect_id`, a write already applied under that id is not applied again
        (a retried activity). With `expected_version`, the write fails with
        VersionConflict if another writer got there first.
        """
        if mode not in ("set", "merge"):
            raise ValueError(f"unknown state write mode {mode!r}")
        marker = keys.effect(effect_id) if effect_id else ""
        initial_pairs = _pairs(initial)
        args = [
            mode,
            keys.channel,
            json.dumps(exclude or []),
            EFFECT_TTL_SECONDS,
            "" if expected_version is None else expected_version,
            len(initial_pairs) // 2,
            *initial_pairs,
            *_pairs(values),
        ]
        version, snap, status = await self._write(keys=[keys.state, keys.meta, marker], args=args)
        if status == -1:
            raise VersionConflict(f"state of {keys.agent_type}/{keys.name} changed meanwhile")
        return WriteResult(json.loads(snap), int(version), status == 1)
