"""Tracking of the runs an agent started: one hash per run plus sorted-set indexes
(see `AgentKeys`), kept in step by the functions here. Status changes go through one
Lua script that applies the SPEC's status rules atomically."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from ._keys import AgentKeys, index_member
from ._messages import envelope

STATUSES = ("queued", "running", "waiting", "paused", "complete", "errored", "terminated")
FINISHED = ("complete", "errored", "terminated")

# KEYS: run hash, index prefix, expiry index, the agent's channel
# ARGV: new status, now_ms, allowed-from (comma separated, '*' any), write fields even if
#       the rule refuses (0/1), run id of the reporter ('' any), a field that must hold
#       ARGV[7] for anything to change ('' none), its value, a message to publish if the
#       status changed ('' none), then field/value pairs.
# Returns {status after the call, 1 if it changed else 0}, or {} when not tracked.
_TRANSITION = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {} end
if ARGV[5] ~= '' then
  local owner = redis.call('HGET', KEYS[1], 'run_id')
  if owner and owner ~= '' and owner ~= ARGV[5] then return {current, 0} end
end
if ARGV[6] ~= '' and redis.call('HGET', KEYS[1], ARGV[6]) ~= ARGV[7] then return {current, 0} end
local allowed = ARGV[3]
local ok = allowed == '*' or string.find(',' .. allowed .. ',', ',' .. current .. ',', 1, true)
if not ok and ARGV[4] ~= '1' then return {current, 0} end
for i = 9, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2])
if not ok or ARGV[1] == current then return {current, 0} end
local member = string.format('%013d', tonumber(redis.call('HGET', KEYS[1], 'created_at')))
  .. '|' .. redis.call('HGET', KEYS[1], 'id')
redis.call('ZREM', KEYS[2] .. 'status:' .. current, member)
redis.call('ZADD', KEYS[2] .. 'status:' .. ARGV[1], 0, member)
redis.call('HSET', KEYS[1], 'status', ARGV[1])
local kind = nil
if ARGV[1] == 'complete' then kind = 'success' elseif ARGV[1] == 'errored' or ARGV[1] == 'terminated' then kind = 'error' end
local keep = kind and redis.call('HGET', KEYS[1], 'retention_' .. kind)
if keep then
  local expires = tonumber(ARGV[2]) + tonumber(keep)
  redis.call('HSET', KEYS[1], 'expires_at', expires)
  redis.call('ZADD', KEYS[3], expires, member)
else
  redis.call('HDEL', KEYS[1], 'expires_at')
  redis.call('ZREM', KEYS[3], member)
end
if ARGV[8] ~= '' then redis.call('PUBLISH', KEYS[4], ARGV[8]) end
return {ARGV[1], 1}
"""

# Which statuses each target may replace (SPEC section 3 status rules).
_FROM = {
    "running": "queued,waiting,running",
    "waiting": "queued,running,waiting",
    "paused": "queued,running,waiting,paused",
    "complete": "queued,running,waiting,complete",
    "errored": "queued,running,waiting,errored",
    "terminated": "*",
    "queued": "*",
}


def _encode(name: str, value: Any) -> Any:
    """A row field as stored: timestamps as they are, everything else as JSON."""
    return value if name.endswith("_at") else json.dumps(value)


def now_ms() -> int:
    return int(time.time() * 1000)


def metadata_index_value(value: Any) -> str | None:
    """How a metadata value is indexed (and how a filter value must be written):
    strings as they are, numbers and booleans as JSON; other values are not indexed."""
    if isinstance(value, str):
        return value if len(value) <= 256 else None
    if isinstance(value, (bool, int, float)) or value is None:
        return json.dumps(value)
    return None


@dataclass(slots=True)
class WorkflowInfo:
    """A tracked run, as `get_workflow` and the HTTP API return it."""

    id: str
    workflow_id: str
    workflow_name: str
    status: str
    params: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    progress: Any = None
    result: Any = None
    error: dict[str, str] | None = None
    created_at: int = 0
    updated_at: int = 0
    completed_at: int | None = None
    run_id: str | None = None
    """Temporal run id of the current execution (changes on restart)."""
    waiting_for: str | None = None
    """The event type a `waiting` run waits for (`approval` for `wait_for_approval`)."""

    @classmethod
    def from_hash(cls, raw: dict[str, str]) -> WorkflowInfo:
        def js(name: str, default: Any = None) -> Any:
            value = raw.get(name)
            return default if value in (None, "") else json.loads(value)

        return cls(
            id=raw["id"], workflow_id=raw["workflow_id"], workflow_name=raw["workflow_name"],
            status=raw["status"], params=js("params", {}), metadata=js("metadata", {}),
            progress=js("progress"), result=js("result"), error=js("error"),
            created_at=int(raw["created_at"]), updated_at=int(raw.get("updated_at") or raw["created_at"]),
            completed_at=int(raw["completed_at"]) if raw.get("completed_at") else None,
            run_id=raw.get("run_id") or None,
            waiting_for=js("waiting_for") if raw.get("status") == "waiting" else None,
        )  # fmt: skip

    @property
    def member(self) -> str:
        return index_member(self.created_at, self.id)


def _index_keys(keys: AgentKeys, info: WorkflowInfo) -> list[str]:
    out = [keys.runs, keys.runs_by_status(info.status), keys.runs_by_name(info.workflow_name)]
    for key, value in info.metadata.items():
        indexed = metadata_index_value(value)
        if indexed is not None:
            out.append(keys.runs_by_metadata(key, indexed))
    return out


# Insert a row and its index entries in one atomic step (one round trip), or nothing if
# the id is taken. KEYS: row, then index sorted sets; ARGV: member, then field/value pairs.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
for i = 2, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[1]) end
return 1
"""


# KEYS: rows. Each row as HGETALL (empty if not tracked).
_GET_MANY = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGETALL', key) end
return out
"""


def _tracked(raw: dict[str, str]) -> WorkflowInfo | None:
    """A row from its hash; None for no hash (or a stray field without a row)."""
    return WorkflowInfo.from_hash(raw) if raw.get("workflow_id") else None


def _row(flat: list[str]) -> WorkflowInfo | None:
    """A row from a script's HGETALL reply (a flat field, value list)."""
    return _tracked(dict(zip(flat[::2], flat[1::2], strict=True)))


# KEYS: row; ARGV: run id. The row afterwards (HGETALL), or {} if it is not tracked.
_SET_RUN_ID = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
redis.call('HSET', KEYS[1], 'run_id', ARGV[1])
return redis.call('HGETALL', KEYS[1])
"""


class RunTracker:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._transition = redis.register_script(_TRANSITION)
        self._create = redis.register_script(_CREATE)
        self._set_run_id = redis.register_script(_SET_RUN_ID)
        self._get_many = redis.register_script(_GET_MANY)

    async def create(
        self, keys: AgentKeys, info: WorkflowInfo, *, retention: dict[str, int] | None = None
    ) -> bool:
        """Insert a new row; False (and nothing written) if the id is already tracked.
        `retention` maps `success` / `error` to milliseconds kept after finishing."""
        fields: dict[str, Any] = {
            "id": info.id, "workflow_id": info.workflow_id, "workflow_name": info.workflow_name,
            "status": info.status, "params": json.dumps(info.params),
            "metadata": json.dumps(info.metadata), "created_at": info.created_at,
            "updated_at": info.created_at,
        }  # fmt: skip
        for kind, ms in (retention or {}).items():
            fields[f"retention_{kind}"] = ms
        pairs = [item for pair in fields.items() for item in pair]
        created = await self._create(keys=[keys.run(info.id), *_index_keys(keys, info)], args=[info.member, *pairs])
        return bool(created)

    async def get(self, keys: AgentKeys, tracking_id: str) -> WorkflowInfo | None:
        return _tracked(await self._redis.hgetall(keys.run(tracking_id)))

    async def get_many(self, keys: AgentKeys, tracking_ids: list[str]) -> list[WorkflowInfo]:
        """The tracked rows among `tracking_ids`, in order, in one command: a page of 50
        as 50 pipelined HGETALLs cost twice as much, most of it packing and parsing."""
        if not tracking_ids:
            return []
        rows = await self._get_many(keys=[keys.run(t) for t in tracking_ids])
        return [info for raw in rows if (info := _row(raw)) is not None]

    async def delete(self, keys: AgentKeys, tracking_id: str) -> bool:
        info = await self.get(keys, tracking_id)
        if info is None:
            await self._redis.delete(keys.run(tracking_id))  # a half-created row, if any
            return False
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.run(tracking_id))
            for index in [*_index_keys(keys, info), keys.runs_expiry]:
                pipe.zrem(index, info.member)
            await pipe.execute()
        return True

    async def set_run_id(self, keys: AgentKeys, tracking_id: str, run_id: str) -> WorkflowInfo | None:
        """Record the Temporal run a row now follows; the row as it is afterwards (one
        round trip), or None if it is not tracked (nothing is written then)."""
        return _row(await self._set_run_id(keys=[keys.run(tracking_id)], args=[run_id]))

    async def transition(
        self,
        keys: AgentKeys,
        tracking_id: str,
        status: str,
        *,
        only_from: str | None = None,
        fields_always: bool = False,
        run_id: str | None = None,
        when: tuple[str, Any] | None = None,
        announce: dict[str, Any] | None = None,
        **fields: Any,
    ) -> tuple[str, bool] | None:
        """Move a run to `status` if the rules allow, writing `fields` (JSON-encoded).

        `only_from` (comma-separated statuses) overrides the default rule, for moves such
        as resume (`paused` -> `running`) that only one control may make. `fields_always`
        writes `fields` even when the rule keeps the status. With `run_id`, a report from
        an execution other than the row's current one changes nothing. With
        `when=(field, value)`, nothing changes unless the row's `field` holds `value`.
        `announce` is a message for the agent's clients, published in the same atomic
        step if (and only if) the status changed, so clients see changes in write order.
        Returns (status afterwards, whether it changed), or None when not tracked.
        """
        ts = now_ms()
        if status in FINISHED:
            fields.setdefault("completed_at", ts)
        args: list[Any] = [status, ts, only_from or _FROM[status], int(fields_always), run_id or ""]
        args += [when[0], _encode(when[0], when[1])] if when else ["", ""]
        args.append(envelope(announce) if announce is not None else "")
        for name, value in fields.items():
            args += [name, _encode(name, value)]
        result = await self._transition(
            keys=[keys.run(tracking_id), keys.index_prefix, keys.runs_expiry, keys.channel], args=args
        )
        return (result[0], bool(result[1])) if result else None
