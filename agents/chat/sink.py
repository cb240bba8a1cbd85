"""`FrameSink`: the one writer of chat stream frames in a process (per Redis client).

Each stream's frames are one script call (`lua/chat_frames.lua`: append for resume,
publish to the clients). A worker streaming 100 chats at once makes thousands of such
calls a second, and a call of its own for each cost more of the worker's CPU than the
model library's streaming did (the client's per-call machinery, not Redis). So the calls
every stream makes while one round trip is in flight go out together, as one pipeline
(each call still its own script run: streams of different agents may live on different
cluster nodes, which the cluster pipeline routes). At low load a call goes out at once,
alone: nothing waits for company. Measured in bench/chat.py `concurrent_chats` (100 chats
x 200 tokens at 10 ms): see docs/internals/performance.md, "Chat".
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from agents.store.scripts import lua

_SCRIPT = lua("chat_frames")


class FrameSink:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._script = redis.register_script(_SCRIPT)
        self._pending: list[tuple[list[str], list[str], asyncio.Future[None]]] = []
        self._running: asyncio.Task[None] | None = None
        self._loaded = False

    async def write(self, keys: list[str], args: list[str]) -> None:
        """Run the frames script on `keys` (the stream's list, the agent's channel) with
        `args`; returns once it ran. Calls return in the order they were made."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((keys, args, done))
        if self._running is None:
            self._running = asyncio.ensure_future(self._run())
        await done

    async def _run(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                await self._send(batch)
        finally:
            self._running = None

    async def _send(self, batch: list[tuple[list[str], list[str], asyncio.Future[None]]]) -> None:
        try:
            if len(batch) == 1:  # alone: a plain call (the script object loads itself if need be)
                keys, args, done = batch[0]
                await self._script(keys=keys, args=args)
                results: list[Any] = [None]
            else:
                if not self._loaded:
                    await self._redis.script_load(_SCRIPT)
                    self._loaded = True
                async with self._redis.pipeline(transaction=False) as pipe:
                    for keys, args, _ in batch:
                        pipe.evalsha(self._script.sha, len(keys), *keys, *args)
                    results = await pipe.execute(raise_on_error=False)
        except Exception as err:
            for *_, done in batch:
                if not done.done():
                    done.set_exception(err)
            return
        for (keys, args, done), result in zip(batch, results, strict=True):
            if isinstance(result, NoScriptError):  # the server lost its scripts (a restart)
                self._loaded = False
                try:
                    await self._script(keys=keys, args=args)
                except Exception as err:
                    done.set_exception(err)
                    continue
            elif isinstance(result, Exception):
                done.set_exception(result)
                continue
            done.set_result(None)


_SINKS: weakref.WeakKeyDictionary[Redis, FrameSink] = weakref.WeakKeyDictionary()


def frame_sink(redis: Redis) -> FrameSink:
    """The process's sink for `redis` (one per client: made on first use)."""
    sink = _SINKS.get(redis)
    if sink is None:
        sink = _SINKS[redis] = FrameSink(redis)
    return sink
