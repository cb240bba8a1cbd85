"""What every benchmark runs against, started once per `make bench`: an in-memory
Temporal dev server, a Valkey server, the API as its own process (as deployed), and two
in-process workers on their own task queues: the framework's (AgentsPlugin) and the raw
baseline's (plain `temporalio`, no plugin, no interceptors)."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from redis.asyncio import Redis
from temporalio.client import Client
from temporalio.worker import Worker

from activities import AgentsPlugin
from agents import AgentRuntime, AppRegistry, Settings, connect_temporal
from devstack import TemporalDevServer, ValkeyServer, free_port
from temporal_agents.tracing import configure_tracing, shutdown_tracing

ROOT = Path(__file__).resolve().parent.parent
MODULES = "bench.flows,bench.chat_flows,agents.demo,workflows.demo,activities.demo"
RAW_QUEUE = "bench-raw"


@dataclass
class Stack:
    settings: Settings
    runtime: AgentRuntime
    temporal: Client
    """The framework's client (pydantic data converter, as `connect_temporal` makes it)."""
    raw_temporal: Client
    """A plain client (default converter): what a raw `temporalio` user has."""
    redis: Redis
    api_url: str
    api_pid: int
    temporal_pid: int
    valkey_pid: int
    tmp: Path


@asynccontextmanager
async def bench_stack() -> AsyncIterator[Stack]:
    from bench.raw import RAW_WORKFLOWS
    from bench.raw_activities import RawActivities
    from bench.raw_chat import RAW_CHAT_WORKFLOWS, RawChatActivities

    async with AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        temporal_server = TemporalDevServer(log_file=tmp / "temporal.log").start()
        stack.callback(temporal_server.stop)
        valkey = ValkeyServer(data_dir=tmp / "valkey").start()
        stack.callback(valkey.stop)
        settings = Settings(
            temporal_address=temporal_server.address,
            redis_url=valkey.url,
            task_queue=f"bench-{uuid.uuid4().hex[:6]}",
            agent_modules=MODULES,
            web_root="",
            ws_queue_size=4096,
        )
        redis = Redis.from_url(valkey.url, decode_responses=True, max_connections=200)
        stack.push_async_callback(redis.aclose)
        # With OTEL_EXPORTER_OTLP_ENDPOINT set, ours is traced as a deployment would be
        # (the API process too); the raw baseline never is.
        tracing = configure_tracing("temporal-agents-worker")
        stack.callback(shutdown_tracing)
        temporal = await connect_temporal(settings, interceptors=tracing)
        raw_temporal = await Client.connect(temporal_server.address)
        runtime = AgentRuntime(
            redis=redis, registry=AppRegistry.from_modules(settings.module_list), settings=settings, temporal=temporal
        )
        api_url, api_proc = await start_api(settings, tmp)
        stack.callback(stop, api_proc)
        await stack.enter_async_context(
            Worker(temporal, task_queue=settings.task_queue, plugins=[AgentsPlugin(runtime)])
        )
        raw_activities = RawActivities(redis)
        await stack.enter_async_context(
            Worker(
                raw_temporal,
                task_queue=RAW_QUEUE,
                workflows=[*RAW_WORKFLOWS, *RAW_CHAT_WORKFLOWS],
                activities=[*raw_activities.all(), *RawChatActivities().all()],
            )
        )
        yield Stack(
            settings=settings,
            runtime=runtime,
            temporal=temporal,
            raw_temporal=raw_temporal,
            redis=redis,
            api_url=api_url,
            api_pid=api_proc.pid,
            temporal_pid=temporal_server.proc.pid,
            valkey_pid=valkey.proc.pid,
            tmp=tmp,
        )


API_PYTHON = ROOT / ".venv-api" / "bin" / "python"
"""The API's interpreter: its own dependencies only, as deployed (`make bench` builds it)."""


async def start_api(settings: Settings, tmp: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """The API as its own process on `settings` (its task queue included), in the
    deployed dependency set, so its memory and speed are a deployed API's."""
    if not API_PYTHON.exists():
        raise RuntimeError(f"{API_PYTHON} is missing: run the benchmarks with `make bench` (it builds it)")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "API_PORT": str(port),
        "TEMPORAL_ADDRESS": settings.temporal_target,
        "REDIS_URL": settings.redis_target,
        "REDIS_CLUSTER": "true" if settings.redis_cluster else "false",
        "TASK_QUEUE": settings.task_queue,
        "AGENT_MODULES": MODULES,
        "WEB_ROOT": "",
        "WS_QUEUE_SIZE": str(settings.ws_queue_size),
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [str(API_PYTHON), str(ROOT / "api.py")],
        cwd=ROOT,
        env=env,
        stdout=(tmp / f"api-{port}.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url) as web:
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError(f"the API did not start:\n{(tmp / f'api-{port}.log').read_text()[-2000:]}")
            try:
                if (await web.get("/healthz")).status_code == 200:
                    return url, proc
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("the API did not answer /healthz within 30 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def summary(samples: list[float]) -> dict[str, float]:
    """Median and p99 (nearest rank) of milliseconds, with the sample count."""
    ordered = sorted(samples)
    p99 = ordered[max(0, int(round(len(ordered) * 0.99)) - 1)]
    return {"p50_ms": round(statistics.median(ordered), 2), "p99_ms": round(p99, 2), "n": len(ordered)}


async def rate(call_one: Callable[[int], Awaitable[None]], total: int, concurrency: int) -> float:
    """Calls per second of `call_one(0..total-1)` from `concurrency` closed-loop clients."""
    queue = iter(range(total))

    async def client() -> None:
        for i in queue:
            await call_one(i)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return total / (time.perf_counter() - began)


async def interleaved(
    ours: Callable[[], Awaitable[float]], baseline: Callable[[], Awaitable[float]], *, reps: int, warmup: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Summaries of `reps` timings of each side, taken in turns after `warmup` rounds, so
    drift on the machine hits both alike."""
    for _ in range(warmup):
        await ours()
        await baseline()
    ours_ms, baseline_ms = [], []
    for _ in range(reps):
        ours_ms.append(await ours())
        baseline_ms.append(await baseline())
    return summary(ours_ms), summary(baseline_ms)


def ratio(ours: float, baseline: float) -> float:
    return round(ours / baseline, 3) if baseline else float("inf")
