"""`FrameSink`: the one writer of chat stream frames in a process (per Redis client).

A stream's frames are appended for resume and published to its clients by one script
(`lua/chat_frames.lua`). A worker streaming 100 chats at once writes thousands of frames a
second, and a Redis call of its own for each cost more of the worker's CPU than the model
library's streaming did (the client's per-call machinery, not Redis). So the writes every
stream asks for while one round trip is in flight go out together, as one script call for
all the streams whose keys share a cluster slot (on a single Redis: one call), the calls
of different slots in one pipeline (the cluster pipeline routes each to its node). At low
load a write goes out at once, alone: nothing waits for company. Measured in bench/chat.py
`concurrent_chats` (100 chats x 200 tokens at 10 ms): see docs/internals/performance.md,
"Chat".
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from agents.store.scripts import lua

_SCRIPT = lua("chat_frames")

_Write = tuple[list[str], list[str], asyncio.Future[None]]
"""A stream's three keys, its arguments (envelope, ender flag, frames), and who waits."""
_Call = tuple[list[str], list[str], list[asyncio.Future[None]]]
"""One script call: the keys and arguments of its streams, one after another, and their waiters."""


class FrameSink:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._script = redis.register_script(_SCRIPT)
        self._pending: list[_Write] = []
        self._running: asyncio.Task[None] | None = None
        self._loaded = False

    async def write(self, keys: list[str], args: list[str]) -> None:
        """Write a stream's frames: `keys` its list, its agent's channel and its fence;
        `args` the envelope, the ender flag and the frames. Returns once written; the
        writes of one stream land in the order they were asked for."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((keys, args, done))
        if self._running is None:
            self._running = asyncio.ensure_future(self._run())
        await done

    async def _run(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                await self._send(self._calls(batch))
        finally:
            self._running = None

    def _calls(self, batch: list[_Write]) -> list[_Call]:
        """One script call's keys, arguments and waiters per cluster slot of the batch."""
        slot_of = self._redis.keyslot if isinstance(self._redis, RedisCluster) else None
        calls: dict[int, _Call] = {}
        for keys, (envelope, ender, *frames), done in batch:
            keys_, args, waiters = calls.setdefault(slot_of(keys[0]) if slot_of else 0, ([], [], []))
            keys_ += keys
            args += [envelope, ender, str(len(frames)), *frames]
            waiters.append(done)
        return list(calls.values())

    async def _send(self, calls: list[_Call]) -> None:
        try:
            if len(calls) == 1:  # one slot: a plain call (the script object loads itself if need be)
                keys, args, _ = calls[0]
                results: list[Any] = [await self._script(keys=keys, args=args)]
            else:
                if not self._loaded:
                    await self._redis.script_load(_SCRIPT)
                    self._loaded = True
                async with self._redis.pipeline(transaction=False) as pipe:
                    for keys, args, _ in calls:
                        pipe.evalsha(self._script.sha, len(keys), *keys, *args)
                    results = await pipe.execute(raise_on_error=False)
        except Exception as err:
            for *_, waiters in calls:
                _settle(waiters, err)
            return
        for (keys, args, waiters), result in zip(calls, results, strict=True):
            if isinstance(result, NoScriptError):  # the server lost its scripts (a restart)
                self._loaded = False
                try:
                    await self._script(keys=keys, args=args)
                except Exception as err:
                    _settle(waiters, err)
                    continue
                result = None
            _settle(waiters, result if isinstance(result, Exception) else None)


def _settle(waiters: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for done in waiters:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


_SINKS: weakref.WeakKeyDictionary[Redis, FrameSink] = weakref.WeakKeyDictionary()


def frame_sink(redis: Redis) -> FrameSink:
    """The process's sink for `redis` (one per client: made on first use)."""
    sink = _SINKS.get(redis)
    if sink is None:
        sink = _SINKS[redis] = FrameSink(redis)
    return sink
