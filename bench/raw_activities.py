"""Activities of the raw baseline: one Redis call per effect, on an injected client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from temporalio import activity


@dataclass
class Publish:
    channel: str
    message: str


@dataclass
class StateWrite:
    key: str
    field: str
    value: str
    channel: str


@dataclass
class Fire:
    """A raw one-shot: when it fires, record `[id, due, now]` on the list `key`."""

    key: str
    id: str
    due: float


@dataclass
class ItemWork:
    run_id: str
    index: int
    item: str
    delay_ms: int


class RawActivities:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def all(self) -> list[Callable[..., Any]]:
        return [self.process_item, self.publish, self.write_state, self.now, self.fire]

    @activity.defn(name="raw.process_item")
    async def process_item(self, work: ItemWork) -> str:
        await self.redis.hincrby(f"raw:executions:{work.run_id}", str(work.index), 1)
        if work.delay_ms:
            await asyncio.sleep(work.delay_ms / 1000)
        return work.item.upper()

    @activity.defn(name="raw.publish")
    async def publish(self, p: Publish) -> None:
        await self.redis.publish(p.channel, p.message)

    @activity.defn(name="raw.write_state")
    async def write_state(self, w: StateWrite) -> None:
        await self.redis.hset(w.key, w.field, w.value)
        await self.redis.publish(w.channel, json.dumps({w.field: json.loads(w.value)}))

    @activity.defn(name="raw.now")
    async def now(self, index: int) -> float:
        return time.time()

    @activity.defn(name="raw.fire")
    async def fire(self, f: Fire) -> None:
        await self.redis.rpush(f.key, json.dumps([f.id, f.due, time.time()]))
