"""Broadcast to 1,000 WebSocket clients of one agent spread over two API processes, on a
three-primary Valkey cluster (replica each) against a single Valkey server, in the same
run: time until the last client has each message. On the cluster the agent's messages go
out on its shard channel, so they reach one shard's subscribers, not every node.
"""

from __future__ import annotations

from typing import Any

from agents import AgentRuntime, connect_redis, ready_redis
from bench._stack import Stack, ratio
from bench.broadcast import on_fresh_apis
from devstack.cluster import ValkeyCluster


async def run(stack: Stack, *, clients: int = 1000, broadcasts: int = 30) -> dict[str, Any]:
    single = await on_fresh_apis(
        stack, stack.settings, stack.runtime, processes=2, clients=clients, broadcasts=broadcasts
    )
    cluster = ValkeyCluster(data_dir=stack.tmp / "cluster").start()
    try:
        settings = stack.settings.model_copy(update={"redis_url": cluster.url, "redis_cluster": True})
        redis = await ready_redis(connect_redis(settings))
        runtime = AgentRuntime(redis=redis, registry=stack.runtime.registry, settings=settings, temporal=stack.temporal)
        try:
            clustered = await on_fresh_apis(
                stack, settings, runtime, processes=2, clients=clients, broadcasts=broadcasts
            )
        finally:
            await redis.aclose()
    finally:
        cluster.stop()
    return {
        "clients": clients,
        "api_processes": 2,
        "single_node": {"all_delivered": single["all_delivered"], "per_delivery": single["per_delivery"]},
        "cluster": {"all_delivered": clustered["all_delivered"], "per_delivery": clustered["per_delivery"]},
        "ratio_all_delivered_p99": ratio(clustered["all_delivered"]["p99_ms"], single["all_delivered"]["p99_ms"]),
        "target": {"ratio_all_delivered_p99_max": 1.5},
    }
