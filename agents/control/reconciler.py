"""Background reconciliation: no tracked run stays `running` forever.

A single `get_workflow` reconciles on read; lists rely on this sweep. Every few seconds
the process holding a Redis lease asks Temporal visibility for agent runs that closed
without completing (terminated, timed out, failed, canceled) since the last sweep,
and brings their tracking rows up to date (a chat turn among them, which has no row, is
ended for its chat, whose clients would otherwise wait); then it removes finished runs
whose retention ran out (reads remove them too, so an expired run is never served).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from temporalio.service import RPCError

from agents.control.deadlines import DEFAULT_RPC_TIMEOUT
from agents.control.ports import EndsTurnsOfGoneWorkflows
from agents.control.reconcile import reconcile_with_temporal
from agents.control.runs import AGENT_NAME, AGENT_TYPE
from agents.core.errors import NotFoundError
from agents.store.scripts import lua
from agents.store.tracking import FINISHED, now_ms, retention_key

if TYPE_CHECKING:
    from agents.control.ports import ControlRuntime

log = structlog.get_logger("agents.reconciler")

_ENDED = '(ExecutionStatus="Terminated" OR ExecutionStatus="TimedOut" OR ExecutionStatus="Failed" OR ExecutionStatus="Canceled")'


class Reconciler:
    def __init__(
        self, runtime: ControlRuntime, *, interval: float = 5.0, look_back: timedelta = timedelta(hours=1)
    ) -> None:
        self._rt = runtime
        self._interval = interval
        self._since = datetime.now(UTC) - look_back
        self._token = secrets.token_hex(8)
        self._lease_key = f"{runtime.settings.redis_key_prefix}reconciler:{runtime.settings.task_queue}"
        self._warned = False
        self._extend = runtime.redis.register_script(lua("turn_extend"))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if await self._lead():
                    await self.sweep()
                    await self.remove_expired()
            except Exception:  # keep sweeping; the next round retries
                log.exception("reconcile sweep failed")
            try:
                await asyncio.wait_for(stop.wait(), self._interval)
            except TimeoutError:
                pass

    async def _lead(self) -> bool:
        lease_ms = int(self._interval * 3000)
        if await self._rt.redis.set(self._lease_key, self._token, nx=True, px=lease_ms):
            return True
        # Extended only if still ours, in one step: a GET then a PEXPIRE could extend the
        # lease another process took in between.
        return bool(await self._extend(keys=[self._lease_key], args=[self._token, lease_ms]))

    async def remove_expired(self) -> int:
        """Remove finished runs whose retention ran out, whoever reads them or not."""
        redis, key = self._rt.redis, retention_key(self._rt.settings.redis_key_prefix)
        due = await redis.zrange(key, "-inf", now_ms(), byscore=True, offset=0, num=500)
        for member in due:
            agent_type, name, tracking_id = json.loads(member)
            keys = self._rt.store.keys(agent_type, name)
            info = await self._rt.tracker.get(keys, tracking_id)  # removes it if expired
            if info is not None and info.expires_at is not None:  # restarted and finished again
                await redis.zadd(key, {member: info.expires_at})
                continue
            await redis.zrem(key, member)
        return len(due)

    async def sweep(self) -> int:
        """Reconcile agent runs closed since the last sweep; returns how many changed."""
        started = datetime.now(UTC)
        # A margin for visibility's lag: rows already finished are skipped cheaply.
        since = (self._since - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        query = f'CloseTime >= "{since}" AND {_ENDED}'
        changed = 0
        async for execution in self._rt.temporal.list_workflows(query, rpc_timeout=DEFAULT_RPC_TIMEOUT):
            agent, tracking_id = self._tracked_as(execution)
            if agent is None or tracking_id is None:
                continue  # not a run an agent started
            info = await self._rt.tracker.get(agent.keys, tracking_id)
            if info is None:  # no row: a chat turn, say, which its agent ends itself
                if isinstance(agent, EndsTurnsOfGoneWorkflows):
                    changed += await agent.end_turn_of(execution.id)
                continue
            if info.status in FINISHED:
                continue
            after = await reconcile_with_temporal(self._rt, agent, info)
            changed += after.status != info.status
        self._since = started
        return changed + await self._note_stuck()

    async def _note_stuck(self) -> int:
        """Runs whose workflow task keeps failing (Temporal marks them with the search
        attribute TemporalReportedProblems): their rows show the `problem`, and clients
        are told, without anyone reading the run."""
        query = f"ExecutionStatus='Running' AND TemporalReportedProblems IS NOT NULL AND {AGENT_TYPE.name} IS NOT NULL"
        noted = 0
        try:
            async for execution in self._rt.temporal.list_workflows(query, rpc_timeout=DEFAULT_RPC_TIMEOUT):
                agent, tracking_id = self._tracked_as(execution)
                if agent is None or tracking_id is None:
                    continue
                info = await self._rt.tracker.get(agent.keys, tracking_id)
                if info is not None and info.problem is None and info.status not in FINISHED:
                    after = await reconcile_with_temporal(self._rt, agent, info)
                    noted += after.problem is not None
        except RPCError as err:  # a server without the attribute: reads still show problems
            if not self._warned:
                self._warned = True
                log.warning("cannot list runs with reported problems", error=err.message)
        return noted

    def _tracked_as(self, execution: Any) -> tuple[Any, str | None]:
        """(the agent, the tracking id) of a run an agent started, else (None, None)."""
        attrs = execution.typed_search_attributes
        agent_type, agent_name = attrs.get(AGENT_TYPE), attrs.get(AGENT_NAME)
        parts = execution.id.split("/", 2)
        if not agent_type or not agent_name or len(parts) != 3:
            return None, None
        try:
            return self._rt.agent(agent_type, agent_name), parts[2]
        except NotFoundError:
            return None, None  # an agent type this process does not load
