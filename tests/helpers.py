"""Small helpers shared by tests: waiting for a run's status or an agent's callbacks."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agents import Agent, Settings, WorkflowInfo, shard_messages

ROOT = Path(__file__).resolve().parent.parent


T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    timeout: float = 30,
    what: str = "condition",
    interval: float = 0.05,
) -> T:
    """Call `probe` until `done(result)`; the last result, or an AssertionError that shows it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if done(value):
            return value
        if loop.time() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout}s; last seen: {value}")
        await asyncio.sleep(interval)


def through_outage(read: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T | None]]:
    """`read`, answering None while Redis is away: a cluster with no primary for the key,
    or a server just restarted (the first read on a connection from before fails)."""

    async def probe() -> T | None:
        try:
            return await read()
        except RedisError:
            return None

    return probe


async def wait_for_status(agent: Agent[Any], workflow_id: str, *statuses: str, timeout: float = 30) -> WorkflowInfo:
    info = await eventually(
        lambda: agent.get_workflow(workflow_id),
        lambda i: i is not None and i.status in statuses,
        timeout=timeout,
        what=f"run {workflow_id} in {statuses}",
    )
    assert info is not None
    return info


async def recorded_calls(redis: Redis, agent: Agent[Any]) -> list[list[Any]]:
    from tests.app import calls_key

    return [json.loads(raw) for raw in await redis.lrange(calls_key(agent), 0, -1)]


async def outcome_calls(redis: Redis, agent: Agent[Any], *, timeout: float = 10) -> list[list[Any]]:
    """The complete/error callbacks recorded, once at least one arrived (the hook runs
    just after tracking records the outcome), plus a short settle for any duplicate."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        finals = [c for c in await recorded_calls(redis, agent) if c[0] in ("complete", "error")]
        if finals:
            await asyncio.sleep(0.3)
            return [c for c in await recorded_calls(redis, agent) if c[0] in ("complete", "error")]
        await asyncio.sleep(0.05)
    return []


def start_entry_point(script: str, settings: Settings, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """`worker.py` or `api.py` as its own process on `settings` (a real process to kill)."""
    full_env = {
        "WORKER_METRICS_PORT": "0",
        **os.environ,
        "TEMPORAL_ADDRESS": settings.temporal_target,
        "REDIS_URL": settings.redis_target,
        "REDIS_CLUSTER": "true" if settings.redis_cluster else "false",
        "REDIS_WAIT_REPLICAS": str(settings.redis_wait_replicas),
        "TASK_QUEUE": settings.task_queue,
        "AGENT_MODULES": settings.agent_modules,
        "PYTHONPATH": str(ROOT),
        **env,
    }
    with log.open("wb") as out:  # the child has its own copy: ours is closed at once
        return subprocess.Popen(
            [sys.executable, str(ROOT / script)], cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT
        )


async def start_api_process(settings: Settings, port: int, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """`api.py` as its own process on `port`, returned once it answers `/healthz`."""
    import httpx

    proc = start_entry_point("api.py", settings, log, API_PORT=str(port), WEB_ROOT="", **env)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:

        async def up() -> bool:
            assert proc.poll() is None, log.read_text()[-2000:]
            try:
                return (await web.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(up, bool, what="the API process up", timeout=30)
    return proc


async def snapshot(redis: Redis, agent: str, name: str) -> dict[str, Any]:
    """Every Redis key of one agent, dumped: equal snapshots mean nothing was changed."""
    keys = sorted([key async for key in redis.scan_iter(match=f"*{{{agent}:{name}}}*")])
    return {key: await redis.dump(key) for key in keys}


def polled(read: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    """A synchronous read (a client's `.state`, a list) as a probe for `eventually`."""

    async def probe() -> T:
        return read()

    return probe


@asynccontextmanager
async def channel_messages(redis: Redis, agent: Agent[Any]) -> AsyncIterator[list[dict[str, Any]]]:
    """Collect every envelope published on the agent's channel while the block runs."""
    received: list[dict[str, Any]] = []
    pubsub = redis.pubsub()
    await pubsub.ssubscribe(agent.keys.channel)

    async def pump() -> None:
        async for message in shard_messages(pubsub):
            received.append(json.loads(message["data"]))

    task = asyncio.create_task(pump())
    try:
        yield received
        await asyncio.sleep(0.2)
    finally:
        task.cancel()
        await pubsub.aclose()
