"""The connection hub of one API process: Redis pub/sub fan-out to local clients.

Broadcasts are published on an agent's channel by whatever process made them (an API
process, a worker's bridge activity, a Lua state write). Every API process subscribes
the channels of agents it has clients for and relays each message once per client.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

import structlog
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agents._metrics import Metrics

from .connection import Connection
from .protocol import CloseCode

log = structlog.get_logger("agents.ws")


class ConnectionHub:
    def __init__(self, redis: Redis, *, control_channel: str, metrics: Metrics | None = None) -> None:
        self._redis = redis
        self._control = control_channel
        self._groups: dict[str, set[Connection]] = defaultdict(set)
        self._lock = asyncio.Lock()
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self._task: asyncio.Task[None] | None = None
        self._metrics = metrics

    async def start(self) -> None:
        # A standing subscription keeps the pub/sub connection open with no clients.
        await self._pubsub.subscribe(self._control)
        self._task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self._pubsub.aclose()

    def connections(self, channel: str) -> set[Connection]:
        return self._groups.get(channel, set())

    async def join(self, channel: str, connection: Connection) -> None:
        async with self._lock:
            if not self._groups[channel]:
                await self._pubsub.subscribe(channel)
            self._groups[channel].add(connection)
        if self._metrics:
            self._metrics.ws_connections.inc()

    async def leave(self, channel: str, connection: Connection) -> None:
        async with self._lock:
            group = self._groups.get(channel)
            if group is None or connection not in group:
                return
            group.discard(connection)
            if self._metrics:
                self._metrics.ws_connections.dec()
            if not group:
                del self._groups[channel]
                try:
                    await self._pubsub.unsubscribe(channel)
                except (RedisConnectionError, RedisTimeoutError):
                    pass  # the subscription went with the connection; resubscribing skips it

    async def _read(self) -> None:
        while True:
            try:
                async for raw in self._pubsub.listen():
                    if raw.get("type") == "message":
                        self._relay(raw["channel"], raw["data"])
            except asyncio.CancelledError:
                raise
            except (RedisConnectionError, RedisTimeoutError):
                # Broadcasts sent while we are away are lost: tell every client now, so
                # they reconnect (and resync state) instead of silently missing updates.
                log.warning("pub/sub connection lost; closing clients and resubscribing")
                self._close_all(CloseCode.SERVICE_RESTART, "server lost its event stream: reconnect")
                while not await self._resubscribe():
                    await asyncio.sleep(0.5)

    async def _resubscribe(self) -> bool:
        try:
            async with self._lock:
                await self._pubsub.subscribe(self._control, *self._groups)
        except (RedisConnectionError, RedisTimeoutError):
            return False
        log.info("pub/sub connection restored")
        return True

    def _close_all(self, code: int, reason: str) -> None:
        for group in list(self._groups.values()):
            for connection in list(group):
                connection.close_soon(code, reason)

    def _relay(self, channel: str, data: str) -> None:
        group = self._groups.get(channel)
        if not group:
            return
        try:
            envelope = json.loads(data)
            if "close" in envelope:  # the agent was destroyed
                code, reason = envelope["close"]
                for connection in list(group):
                    connection.close_soon(int(code), str(reason))
                return
            text = json.dumps(envelope["message"], separators=(",", ":"))
        except (ValueError, KeyError, TypeError):
            log.warning("malformed broadcast envelope", channel=channel)
            return
        exclude = set(envelope.get("exclude") or ())
        version = envelope.get("v")
        sent = 0
        for connection in list(group):
            if connection.id not in exclude:
                connection.offer_broadcast(text, version)
                sent += 1
        if self._metrics:
            self._metrics.ws_messages.inc(sent)
