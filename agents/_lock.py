"""A Redis mutex per agent: agent methods invoked from workflows run one at a time,
whatever process runs them.

SET NX PX with a random token; a watchdog extends the lease while the holder works, so
a long method keeps the lock and a crashed holder loses it after `lease` seconds.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class AgentLock:
    def __init__(self, redis: Redis, *, lease: float = 30.0) -> None:
        self._redis = redis
        self._lease_ms = int(lease * 1000)
        self._release = redis.register_script(_RELEASE)
        self._extend = redis.register_script(_EXTEND)

    @asynccontextmanager
    async def hold(self, key: str, *, timeout: float = 60.0) -> AsyncIterator[None]:
        token = secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pause = 0.002
        while not await self._redis.set(key, token, nx=True, px=self._lease_ms):
            if loop.time() > deadline:
                raise TimeoutError(f"could not take the agent lock {key} within {timeout}s")
            # Jittered backoff keeps many waiters from polling in step.
            await asyncio.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 0.05)
        watchdog = asyncio.create_task(self._keep(key, token))
        try:
            yield
        finally:
            watchdog.cancel()
            await self._release(keys=[key], args=[token])

    async def _keep(self, key: str, token: str) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            await self._extend(keys=[key], args=[token, self._lease_ms])
