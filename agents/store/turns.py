"""Turns: one call at a time per agent, across every process (the actor model).

Every entry into an agent's code (RPC, hooks, workflow callbacks, `self.agent.x()`) runs
inside a *turn*. A turn is a Redis lease (a random token under `SET PX`, renewed while
the holder works) plus a FIFO ticket queue of waiters, so processes get the agent in the
order they asked and a dead process's turn, or its place in the queue, lapses within
seconds. Inside one process, callers of one agent first queue on a local FIFO lock, so
only one of them polls Redis and the calls of one WebSocket connection enter in the order
they were sent.

The token is also a fencing token: state writes made in a turn carry it, and the write
script refuses a write whose token no longer holds the turn (a holder that stalled past
its lease cannot overwrite what the next one did). A write made outside any turn (a
workflow's merge, a PATCH to an agent without state hooks) is applied in one atomic step
only while no turn is held or waited for; otherwise it queues for a turn of its own.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import structlog
from redis.asyncio import Redis

from agents.core.errors import AgentBusyError
from agents.core.keys import AgentKeys
from agents.core.tasks import background
from agents.store.scripts import lua
from agents.store.state import StateSnapshot, decode_snapshot

log = structlog.get_logger("agents.turns")

_WAITER_TTL_MS = 2000
"""A waiter that has not polled for this long loses its place (its process died)."""
_FIRST_PAUSE, _MAX_PAUSE = 0.0005, 0.008
"""Polling pauses of the one waiter per process and agent: hand-offs between processes
take at most `_MAX_PAUSE`."""


@dataclass(eq=False)
class Turn:
    """A held turn of one agent."""

    keys: AgentKeys
    token: str
    snapshot: StateSnapshot | None = None
    """The agent's state read in the step that took the turn (None when re-entered)."""
    active: bool = True
    """False once released: a task the call spawned no longer writes with this token."""
    lost: bool = field(default=False)
    """The lease could not be renewed (Redis unreachable, or the process stalled)."""


_HELD: ContextVar[tuple[Turn, ...]] = ContextVar("agent_turns", default=())


class _LocalQueue:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()  # FIFO: a new caller queues behind the waiting ones
        self.users = 0


class TurnService:
    """Takes and releases agents' turns for one process."""

    def __init__(self, redis: Redis, *, lease: float, wait: float) -> None:
        self._redis = redis
        self._lease_ms = int(lease * 1000)
        self.wait = wait
        self._acquire = redis.register_script(lua("snapshot", "turn_acquire"))
        self._release = redis.register_script(lua("turn_release"))
        self._extend = redis.register_script(lua("turn_extend"))
        self._leave = redis.register_script(lua("turn_leave"))
        self._local: dict[AgentKeys, _LocalQueue] = {}

    @staticmethod
    def current(keys: AgentKeys) -> Turn | None:
        """The turn of this agent held by the running call chain, if any."""
        for turn in _HELD.get():
            if turn.active and turn.keys == keys:
                return turn
        return None

    @asynccontextmanager
    async def hold(self, keys: AgentKeys, *, wait: float | None = None) -> AsyncIterator[Turn]:
        """Hold the agent's turn for the block; re-entrant within one call chain.

        Raises AgentBusyError when the turn cannot be had within `wait` seconds."""
        held = self.current(keys)
        if held is not None:
            yield Turn(keys, held.token)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.wait if wait is None else wait)
        local = self._local.get(keys)
        if local is None:
            local = self._local[keys] = _LocalQueue()
        local.users += 1
        try:
            try:
                async with asyncio.timeout_at(deadline):
                    await local.lock.acquire()
            except TimeoutError:
                raise self._busy(keys, wait) from None
            try:
                turn = await self._take(keys, deadline, wait)
                async with self._holding(turn):
                    yield turn
            finally:
                local.lock.release()
        finally:
            local.users -= 1
            if local.users == 0:
                del self._local[keys]

    def _busy(self, keys: AgentKeys, wait: float | None) -> AgentBusyError:
        seconds = self.wait if wait is None else wait
        return AgentBusyError(
            f"{keys.agent_type}/{keys.name} is busy: its turn could not be had within {seconds:g}s "
            "(another call holds it); try again shortly",
            agent=f"{keys.agent_type}/{keys.name}",
        )

    async def _take(self, keys: AgentKeys, deadline: float, wait: float | None) -> Turn:
        loop = asyncio.get_running_loop()
        token = secrets.token_hex(12)
        redis_keys = [keys.state, keys.meta, keys.turn, keys.turn_queue, keys.turn_alive, keys.turn_seq]
        pause = _FIRST_PAUSE
        try:
            while True:
                reply = await self._acquire(keys=redis_keys, args=[token, self._lease_ms, _WAITER_TTL_MS])
                if reply[0] == 1:
                    return Turn(keys, token, snapshot=decode_snapshot(*reply[1:5]))
                if loop.time() + pause > deadline:
                    raise self._busy(keys, wait)
                await asyncio.sleep(pause)
                pause = min(pause * 2, _MAX_PAUSE)
        except BaseException:
            # Give up our place in the queue (cancelled, timed out or Redis failed); if
            # this cannot reach Redis either, the place lapses with its waiter TTL.
            background(self._forget(keys, token))
            raise

    async def _forget(self, keys: AgentKeys, token: str) -> None:
        try:
            await self._leave(keys=[keys.turn_queue, keys.turn_alive], args=[token])
        except Exception:
            pass

    @asynccontextmanager
    async def _holding(self, turn: Turn) -> AsyncIterator[None]:
        marker = _HELD.set((*_HELD.get(), turn))
        watchdog = asyncio.ensure_future(self._renew(turn))
        try:
            yield
        finally:
            turn.active = False
            _HELD.reset(marker)
            watchdog.cancel()
            try:
                await self._release(keys=[turn.keys.turn], args=[turn.token])
            except Exception:
                # Redis is unreachable: the lease lapses by itself within its term.
                log.warning(
                    "could not release an agent's turn; it lapses with its lease",
                    agent=f"{turn.keys.agent_type}/{turn.keys.name}",
                )

    async def _renew(self, turn: Turn) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            try:
                renewed = await self._extend(keys=[turn.keys.turn], args=[turn.token, self._lease_ms])
            except Exception:
                continue  # Redis unreachable for now: the lease may still hold; try again
            if not renewed:
                turn.lost = True
                log.warning(
                    "an agent's turn lapsed while its call was still running",
                    agent=f"{turn.keys.agent_type}/{turn.keys.name}",
                )
                return
