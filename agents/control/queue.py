"""An agent's queue of method calls (Cloudflare's `this.queue`).

The calls live in Redis (a list of ids in order, a hash of the calls); one
`agents.queue` workflow per agent runs them one at a time, oldest first, each in the
agent's turn, retried with backoff. Queueing a call writes it, then signals that workflow
(starting it if it is not running): a call is never lost between the two, because the
workflow reads Redis after every wake.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from agents.control.runs import search_attributes
from agents.core.errors import ConflictError
from agents.core.ids import AgentId
from agents.core.payloads import check_json
from agents.core.records import QueuedCall, RetryOptions
from agents.store.tracking import now_ms
from workflows.contracts import AgentRef, Bridge, QueuedCallRef, QueueInput

if TYPE_CHECKING:
    from agents.control.ports import ControlRuntime
    from agents.core.ids import AgentId

MAX_QUEUED = 10_000
"""Calls one agent may have waiting in its queue."""


class CallQueue:
    def __init__(self, runtime: ControlRuntime) -> None:
        self._rt = runtime

    def workflow_id(self, agent: AgentId) -> str:
        return f"{agent.agent_type}/{agent.name}/queue"

    async def push(self, agent: AgentId, method: str, payload: Any, *, retry: RetryOptions) -> str:
        """`method`: the agent's method to call, checked by the agent (`callback_name`)."""
        check_json(payload, what="payload")
        keys = agent.keys
        if await self._rt.redis.llen(keys.queue) >= MAX_QUEUED:
            raise ConflictError(f"this agent has {MAX_QUEUED} calls queued already; dequeue some first")
        call = QueuedCall(
            f"q_{secrets.token_hex(8)}",
            method,
            payload,
            now_ms(),
            retry.max_attempts,
            retry.base_delay,
            retry.max_delay,
        )
        async with self._rt.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.queue_items, call.id, json.dumps(asdict(call), separators=(",", ":")))
            pipe.rpush(keys.queue, call.id)
            await pipe.execute()
        await self._rt.temporal.start_workflow(
            Bridge.QUEUE_WORKFLOW,
            QueueInput(AgentRef(agent.agent_type, agent.name)),
            id=self.workflow_id(agent),
            task_queue=self._rt.settings.task_queue,
            start_signal=Bridge.SIGNAL_WAKE,
            search_attributes=search_attributes(agent, Bridge.QUEUE_WORKFLOW),
            static_summary=f"queued calls of {agent.agent_type}/{agent.name}",
        )
        return call.id

    async def list(self, agent: AgentId) -> list[QueuedCall]:
        ids = await self._rt.redis.lrange(agent.keys.queue, 0, -1)
        if not ids:
            return []
        raws = await self._rt.redis.hmget(agent.keys.queue_items, ids)
        return [QueuedCall(**json.loads(raw)) for raw in raws if raw is not None]

    async def get(self, agent: AgentId, call_id: str) -> QueuedCall | None:
        raw = await self._rt.redis.hget(agent.keys.queue_items, call_id)
        return None if raw is None else QueuedCall(**json.loads(raw))

    async def head(self, agent: AgentId) -> QueuedCallRef | None:
        """The oldest queued call, as the queue workflow names it."""
        ref = AgentRef(agent.agent_type, agent.name)
        while (call_id := await self._rt.redis.lindex(agent.keys.queue, 0)) is not None:
            call = await self.get(agent, call_id)
            if call is not None:
                return QueuedCallRef(ref, call.id, call.callback, call.attempts, call.base_delay, call.max_delay)
            await self._rt.redis.lrem(agent.keys.queue, 1, call_id)  # a half-removed call
        return None

    async def remove(self, agent: AgentId, call_id: str) -> bool:
        async with self._rt.redis.pipeline(transaction=True) as pipe:
            pipe.lrem(agent.keys.queue, 1, call_id)
            pipe.hdel(agent.keys.queue_items, call_id)
            removed, _ = await pipe.execute()
        return bool(removed)

    async def clear(self, agent: AgentId) -> int:
        async with self._rt.redis.pipeline(transaction=True) as pipe:
            pipe.llen(agent.keys.queue)
            pipe.delete(agent.keys.queue, agent.keys.queue_items)
            count, _ = await pipe.execute()
        return int(count)
