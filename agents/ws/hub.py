"""The connection hub of one API process: Redis pub/sub fan-out to local clients.

Broadcasts are published on an agent's shard channel by whatever process made them (an
API process, a worker's bridge activity, a Lua state write). Every API process subscribes
(SSUBSCRIBE) the channels of agents it has clients for and relays each message once per
client. Sharded pub/sub is the same on one Redis and on a Redis Cluster, where each
agent's messages stay on the shard that holds the agent instead of going to every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from typing import Any

import structlog
from opentelemetry.trace import SpanKind
from redis.asyncio import Redis

from agents.core.metrics import Metrics
from agents.core.tracing import links_to, tracer
from agents.store.connection import REDIS_ERRORS, ShardOwners, shard_messages, shard_subscriptions_live
from agents.ws.connection import Connection
from agents.ws.protocol import CloseCode

log = structlog.get_logger("agents.ws")

_SHARD_CHECK = 1.0
"""Seconds between checks, on a cluster, that no subscribed channel moved to another node."""

_RESUBSCRIBE_TIMEOUT = 5.0
"""Seconds one resubscribe attempt may take before it is abandoned and tried again."""


class ConnectionHub:
    def __init__(self, redis: Redis, *, control_channel: str, metrics: Metrics | None = None) -> None:
        self._redis = redis
        self._control = control_channel
        self._groups: dict[str, set[Connection]] = defaultdict(set)
        self._lock = asyncio.Lock()
        self._pubsub = self._new_pubsub()
        self._task: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._owners = ShardOwners(redis)
        self._metrics = metrics

    def _new_pubsub(self) -> Any:
        return self._redis.pubsub(ignore_subscribe_messages=True)

    async def start(self) -> None:
        # A standing subscription keeps the pub/sub connection open with no clients.
        await self._pubsub.ssubscribe(self._control)
        self._owners.note(self._control)
        self._task = asyncio.create_task(self._read())
        if self._owners.clustered:
            self._watch = asyncio.create_task(self._watch_shards())

    async def stop(self) -> None:
        for task in (self._watch, self._task):
            if task:
                task.cancel()
        await self._pubsub.aclose()

    def connections(self, channel: str) -> set[Connection]:
        return self._groups.get(channel, set())

    async def join(self, channel: str, connection: Connection) -> None:
        async with self._lock:
            if not self._groups[channel]:
                await self._pubsub.ssubscribe(channel)
                self._owners.note(channel)
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
                self._owners.forget(channel)
                try:
                    await self._pubsub.sunsubscribe(channel)
                except REDIS_ERRORS:
                    pass  # the subscription went with the connection; resubscribing skips it

    async def _read(self) -> None:
        while True:
            try:
                async for raw in shard_messages(self._pubsub):
                    self._relay(raw["channel"], raw["data"])
                why = "pub/sub stream ended"
            except asyncio.CancelledError:
                raise
            except REDIS_ERRORS:  # the connection (or, on a cluster, a node) went away
                why = "pub/sub connection lost"
            except Exception:  # never die silently: clients would hear nothing more
                log.exception("relaying broadcasts failed")
                why = "pub/sub reader failed"
            await self._recover(why)

    async def _recover(self, why: str) -> None:
        # Broadcasts sent while we are away are lost: tell every client now, so they
        # reconnect (and resync state) instead of silently missing updates.
        log.warning(f"{why}; closing clients and resubscribing")
        self._close_all(CloseCode.SERVICE_RESTART, "server lost its event stream: reconnect")
        while not await self._resubscribe():
            await asyncio.sleep(0.5)

    async def _watch_shards(self) -> None:
        """On a cluster: a primary that dies takes its subscribers' connection silently
        (redis-py reads the others on), and its replica's promotion moves the channels.
        Check where they live every second; when one moved, subscribe afresh."""
        while True:
            await asyncio.sleep(_SHARD_CHECK)
            if not await self._owners.moved():
                continue
            if self._task:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            await self._recover("a shard moved (failover or resharding)")
            self._task = asyncio.create_task(self._read())

    async def _resubscribe(self) -> bool:
        # A fresh subscriber: after a failover the old one still maps channels to the
        # dead node; a new one, on a reloaded slot map, asks the cluster (or the
        # restarted server) where they are. Done only when every channel is subscribed
        # on a live connection to its current owner: during a failover the map can
        # still name the dead primary for a few seconds, so check, and try again.
        try:
            async with asyncio.timeout(_RESUBSCRIBE_TIMEOUT), self._lock:
                await self._owners.refresh()
                old, self._pubsub = self._pubsub, self._new_pubsub()
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(1):
                        await old.aclose()
                await self._pubsub.ssubscribe(self._control, *self._groups)
                self._owners.clear()
                self._owners.note(self._control, *self._groups)
            if not shard_subscriptions_live(self._pubsub) or await self._owners.moved():
                log.info("pub/sub not yet back on every shard; retrying")
                return False
        except (*REDIS_ERRORS, OSError, TimeoutError) as err:
            log.info("resubscribing failed; retrying", error=repr(err))
            return False
        except Exception:  # a bug must not end the hub's recovery: clients would hear nothing more
            log.exception("resubscribing failed; retrying")
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
            if "batch" in envelope:
                self._relay_batch(channel, group, envelope)
                return
            text = json.dumps(envelope["message"], separators=(",", ":"))
        except (ValueError, KeyError, TypeError):
            log.warning("malformed broadcast envelope", channel=channel)
            return
        exclude = set(envelope.get("exclude") or ())
        tags = set(envelope.get("tags") or ())
        version = envelope.get("v")
        sent = 0
        with _relay_span(channel, envelope.get("tp")):
            for connection in list(group):
                if connection.id not in exclude and (not tags or not tags.isdisjoint(connection.tags)):
                    connection.offer_broadcast(text, version)
                    sent += 1
        if self._metrics:
            self._metrics.ws_messages.inc(sent)

    def _relay_batch(self, channel: str, group: set[Connection], envelope: dict[str, Any]) -> None:
        """Frames of a chat stream published together: each goes out as a frame of its
        own, in order, as it was written (no parsing or re-encoding here)."""
        request_id, first = envelope["c"]
        with _relay_span(channel, envelope.get("tp")):
            for connection in list(group):
                for offset, text in enumerate(envelope["batch"]):
                    connection.offer_broadcast(text, None, (request_id, first + offset))
        if self._metrics:
            self._metrics.ws_messages.inc(len(group) * len(envelope["batch"]))


def _relay_span(channel: str, parent: str | None) -> Any:
    """A span for relaying a message whose publisher was tracing, linked to its trace (a
    message reaches every API process: each relay is its own span, not a child)."""
    if parent is None:
        return contextlib.nullcontext()
    return tracer.start_as_current_span(
        "relay to WebSocket clients",
        kind=SpanKind.CONSUMER,
        links=links_to(parent),
        attributes={"messaging.system": "redis", "messaging.destination.name": channel},
    )
