"""Temporal worker entry point: `python worker.py` (settings from the environment).

Loads the agents, workflows and activities of `AGENT_MODULES`, registers them with the
bridge activities through `AgentsPlugin`, and shuts down gracefully on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from datetime import timedelta

import structlog
from redis.asyncio import Redis
from temporalio.worker import Worker

from agents import (
    AgentRuntime,
    AgentsPlugin,
    AppRegistry,
    Reconciler,
    Settings,
    connect_temporal,
    get_settings,
    metrics_runtime,
)
from agents.logging import configure_logging

log = structlog.get_logger("worker")


async def run_worker(settings: Settings, *, stop: asyncio.Event) -> None:
    redis = Redis.from_url(settings.redis_target, decode_responses=True)
    sdk_runtime = metrics_runtime(settings.worker_metrics_port) if settings.worker_metrics_port else None
    client = await connect_temporal(settings, runtime=sdk_runtime)
    registry = AppRegistry.from_modules(settings.module_list)
    runtime = AgentRuntime(redis=redis, registry=registry, settings=settings, temporal=client)
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        plugins=[AgentsPlugin(runtime)],
        graceful_shutdown_timeout=timedelta(seconds=10),
    )
    log.info(
        "worker started",
        temporal=settings.temporal_target,
        task_queue=settings.task_queue,
        metrics_port=settings.worker_metrics_port or None,
        workflows=sorted(registry.workflows),
        agents=sorted(registry.agents),
    )
    reconciler = asyncio.create_task(Reconciler(runtime).run(stop))
    try:
        async with worker:
            for hook in registry.on_worker_start:
                await hook(runtime)
            await stop.wait()
            log.info("worker stopping")
    finally:
        await reconciler
        await redis.aclose()


async def main() -> None:
    configure_logging(get_settings().log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_worker(get_settings(), stop=stop)


if __name__ == "__main__":
    asyncio.run(main())
    # Everything has shut down gracefully by now. Leave without interpreter
    # finalization: the SDK's native threads may still call into Python while it
    # finalizes, which aborts the process (exit 134, seen in about 1 of 4 shutdowns
    # with the metrics runtime).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
