"""Tracking of the runs an agent started: one hash per run plus sorted-set indexes.

Indexes (score = creation time in ms, member = tracking id): all runs, runs by status
and runs by workflow name, so that listing stays a range read however many runs exist.
Status changes go through one Lua script that applies the SPEC's rules atomically.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from ._keys import AgentKeys

STATUSES = ("queued", "running", "waiting", "paused", "complete", "errored", "terminated")
FINISHED = ("complete", "errored", "terminated")

# KEYS: run hash, status-index prefix ('...:runs:status:')
# ARGV: new status, now_ms, allowed-from list (comma separated, '*' any),
#       write fields even if the status rule refuses (0/1), then field/value pairs.
# Returns {status after the call, 1 if it changed else 0}, or {} when not tracked.
_TRANSITION = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {} end
local allowed = ARGV[3]
local ok = allowed == '*' or string.find(',' .. allowed .. ',', ',' .. current .. ',', 1, true)
if not ok and ARGV[4] ~= '1' then return {current, 0} end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2])
if not ok or ARGV[1] == current then return {current, 0} end
local created = redis.call('HGET', KEYS[1], 'created_at')
local id = redis.call('HGET', KEYS[1], 'id')
redis.call('ZREM', KEYS[2] .. current, id)
redis.call('ZADD', KEYS[2] .. ARGV[1], created, id)
redis.call('HSET', KEYS[1], 'status', ARGV[1])
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


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class WorkflowInfo:
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

    @classmethod
    def from_hash(cls, raw: dict[str, str]) -> WorkflowInfo:
        def js(name: str, default: Any = None) -> Any:
            value = raw.get(name)
            return default if value in (None, "") else json.loads(value)

        return cls(
            id=raw["id"],
            workflow_id=raw["workflow_id"],
            workflow_name=raw["workflow_name"],
            status=raw["status"],
            params=js("params", {}),
            metadata=js("metadata", {}),
            progress=js("progress"),
            result=js("result"),
            error=js("error"),
            created_at=int(raw["created_at"]),
            updated_at=int(raw.get("updated_at") or raw["created_at"]),
            completed_at=int(raw["completed_at"]) if raw.get("completed_at") else None,
        )


class RunTracker:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._transition = redis.register_script(_TRANSITION)

    async def create(self, keys: AgentKeys, record: WorkflowInfo) -> bool:
        """Insert a new row; False (and nothing written) if the id is already tracked."""
        row = keys.run(record.id)
        fields = {
            "id": record.id,
            "workflow_id": record.workflow_id,
            "workflow_name": record.workflow_name,
            "status": record.status,
            "params": json.dumps(record.params),
            "metadata": json.dumps(record.metadata),
            "created_at": record.created_at,
            "updated_at": record.created_at,
        }
        if not await self._redis.hsetnx(row, "id", record.id):
            return False
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(row, mapping=fields)
            pipe.zadd(keys.runs, {record.id: record.created_at})
            pipe.zadd(keys.runs_by_status(record.status), {record.id: record.created_at})
            pipe.zadd(keys.runs_by_name(record.workflow_name), {record.id: record.created_at})
            await pipe.execute()
        return True

    async def delete(self, keys: AgentKeys, tracking_id: str) -> bool:
        raw = await self._redis.hmget(keys.run(tracking_id), ["status", "workflow_name"])
        if raw[0] is None:
            return False
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.run(tracking_id))
            pipe.zrem(keys.runs, tracking_id)
            pipe.zrem(keys.runs_by_status(raw[0]), tracking_id)
            pipe.zrem(keys.runs_by_name(raw[1]), tracking_id)
            await pipe.execute()
        return True

    async def get(self, keys: AgentKeys, tracking_id: str) -> WorkflowInfo | None:
        raw = await self._redis.hgetall(keys.run(tracking_id))
        return WorkflowInfo.from_hash(raw) if raw.get("workflow_id") else None

    async def transition(
        self,
        keys: AgentKeys,
        tracking_id: str,
        status: str,
        *,
        only_from: str | None = None,
        fields_always: bool = False,
        **fields: Any,
    ) -> tuple[str, bool] | None:
        """Move a run to `status` if the rules allow, writing `fields` (JSON-encoded).

        `only_from` (comma-separated statuses) overrides the default rule, for moves
        such as resume (`paused` -> `running`) that only one control may make.

        `fields_always` writes `fields` even when the rule keeps the status.
        Returns (status afterwards, whether it changed), or None when not tracked.
        """
        ts = now_ms()
        if status in FINISHED:
            fields.setdefault("completed_at", ts)
        args: list[Any] = [status, ts, only_from or _FROM[status], int(fields_always)]
        for name, value in fields.items():
            args += [name, value if name.endswith("_at") else json.dumps(value)]
        result = await self._transition(
            keys=[keys.run(tracking_id), keys.runs_by_status("")], args=args
        )
        return (result[0], bool(result[1])) if result else None
