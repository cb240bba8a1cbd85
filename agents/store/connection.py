"""The process's Redis client: one server, or a Redis Cluster (`REDIS_CLUSTER=true`).

Both speak the same commands to the agent layer: every key of one agent carries the hash
tag `{type:name}` (one slot), its scripts touch only those keys, and its messages go out
on that slot's shard channel (SPUBLISH / SSUBSCRIBE), so nothing differs between the two
but the client class.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterPubSub, RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from agents.core.settings import Settings
from workflows.versions import require_tested

# ClusterPubSub.node_pubsub_mapping (which node subscriber holds which shard channels) and
# RedisCluster.nodes_manager.initialize() (reload the slot map) are not documented: the
# cluster hub's recovery rests on them (tests/test_library_guards.py, tests/test_cluster.py).
require_tested("redis", "8.2", relies_on="ClusterPubSub.node_pubsub_mapping and nodes_manager.initialize()")

REDIS_ERRORS = (RedisError, RedisClusterException)
"""What a Redis or Redis Cluster call raises when the server (or a shard) is away."""


def connect_redis(settings: Settings, **options: Any) -> Redis:
    """A client for `settings` (not connected until first used)."""
    options.setdefault("socket_timeout", settings.redis_socket_timeout)
    options.setdefault("socket_connect_timeout", settings.redis_socket_timeout)
    if settings.redis_cluster:
        # Typed as Redis for the code that uses it: the cluster client has the same
        # commands, scripts, pipelines and (sharded) pub/sub.
        return RedisCluster.from_url(settings.redis_target, decode_responses=True, **options)  # type: ignore[return-value]
    return Redis.from_url(settings.redis_target, decode_responses=True, **options)


def is_cluster(redis: Redis) -> bool:
    return isinstance(redis, RedisCluster)


async def ready_redis(redis: Redis) -> Redis:
    """`redis`, with a cluster client's slot map loaded: shard subscriptions and WAIT look
    a key's node up in it before any command would have loaded it."""
    if is_cluster(redis):
        await redis.initialize()
    return redis


async def shard_messages(pubsub: PubSub) -> AsyncIterator[dict[str, Any]]:
    """The messages of a pub/sub's shard channels (SSUBSCRIBE), as they arrive."""
    if not isinstance(pubsub, ClusterPubSub):
        async for raw in pubsub.listen():
            if raw.get("type") == "smessage":
                yield raw
        return
    # On a cluster the shard subscriptions sit on one connection per node (a node joins
    # when a channel on it is first subscribed): read each in a task of its own, since a
    # connection yields its messages only while something waits on it.
    arrived: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue()
    readers: dict[str, tuple[PubSub, asyncio.Task[None]]] = {}

    async def read(node_pubsub: PubSub) -> None:
        try:
            while node_pubsub.connection is None:  # in the mapping, its SSUBSCRIBE not yet sent
                await asyncio.sleep(0.001)
            while True:
                raw = await node_pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if raw is not None and raw.get("type") == "smessage":
                    arrived.put_nowait(raw)
        except asyncio.CancelledError:
            raise
        except BaseException as err:  # the node went away: the subscriber decides
            arrived.put_nowait(err)

    getter: asyncio.Task[Any] | None = None
    try:
        while True:
            for name, node_pubsub in list(pubsub.node_pubsub_mapping.items()):
                # redis-py may replace a node's subscriber (it re-homes channels when the
                # slot map changes): read the one it holds now.
                current = readers.get(name)
                if current is None or current[0] is not node_pubsub or current[1].done():
                    if current is not None:
                        current[1].cancel()
                    readers[name] = (node_pubsub, asyncio.create_task(read(node_pubsub)))
            getter = getter or asyncio.create_task(arrived.get())
            done, _ = await asyncio.wait({getter}, timeout=_NEW_NODE_CHECK)
            if not done:
                continue  # nothing yet: look for nodes subscribed since
            item, getter = getter.result(), None
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        for task in [*(t for _, t in readers.values()), *([getter] if getter else [])]:
            task.cancel()


def shard_subscriptions_live(pubsub: PubSub) -> bool:
    """Whether every connection `pubsub` subscribes shard channels on is open (on a
    cluster, one per node: one made for a node that was dead at the time stays shut)."""
    subscribers = list(pubsub.node_pubsub_mapping.values()) if isinstance(pubsub, ClusterPubSub) else [pubsub]
    return all(s.connection is not None and s.connection.is_connected for s in subscribers)


_NEW_NODE_CHECK = 0.05
"""How soon (seconds) a cluster subscriber starts reading a node it just subscribed on."""


class ShardOwners:
    """Which node serves each subscribed shard channel on a cluster (nothing to do on one
    server), so a subscriber notices when a failover or resharding moved one: the moved
    channel's messages now go to a node it is not subscribed on."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self.clustered = is_cluster(redis)
        self._owners: dict[str, str] = {}

    def note(self, *channels: str) -> None:
        if self.clustered:
            for channel in channels:
                self._owners[channel] = self._redis.get_node_from_key(channel).name  # type: ignore[attr-defined]

    def forget(self, channel: str) -> None:
        self._owners.pop(channel, None)

    def clear(self) -> None:
        self._owners.clear()

    async def moved(self) -> bool:
        """Ask a node where the slots are now (CLUSTER SLOTS: one read, the client's own
        slot map untouched); True if a subscribed channel moved or has no primary."""
        if not self.clustered:
            return False
        cluster: Any = self._redis
        try:
            slots = await cluster.cluster_slots(target_nodes=cluster.get_random_node())
        except REDIS_ERRORS:
            return True
        for channel, owner in self._owners.items():
            slot = cluster.keyslot(channel)
            primary = next((v["primary"] for (lo, hi), v in slots.items() if lo <= slot <= hi), None)
            if primary is None or f"{primary[0]}:{primary[1]}" != owner:
                return True
        return False

    async def refresh(self) -> None:
        """Reload the client's slot map (after `moved`), so subscribing finds the new owners."""
        if not self.clustered:
            return
        with contextlib.suppress(*REDIS_ERRORS):
            await self._redis.nodes_manager.initialize()  # type: ignore[attr-defined]
