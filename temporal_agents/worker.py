"""Temporal worker entry point: `python worker.py` (settings from the environment).

Loads the agents, workflows and activities of `AGENT_MODULES`, registers them with the
bridge activities through `AgentsPlugin`, and shuts down gracefully on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from typing import NoReturn

import structlog
from temporalio.worker import Worker

from activities import AgentsPlugin
from agents import Reconciler, Settings, exit_process, get_settings, metrics_runtime, open_runtime
from agents.core.logging import configure_logging

from .tracing import configure_tracing, shutdown_tracing

log = structlog.get_logger("worker")


async def run_worker(settings: Settings, *, stop: asyncio.Event) -> None:
    sdk_runtime = metrics_runtime(settings.worker_metrics_port) if settings.worker_metrics_port else None
    interceptors = configure_tracing("temporal-agents-worker")
    async with open_runtime(settings, sdk_runtime=sdk_runtime, temporal_interceptors=interceptors) as runtime:
        worker = Worker(
            runtime.temporal,
            task_queue=settings.task_queue,
            plugins=[AgentsPlugin(runtime)],
            graceful_shutdown_timeout=timedelta(seconds=10),
        )
        log.info(
            "worker started",
            temporal=settings.temporal_target,
            task_queue=settings.task_queue,
            metrics_port=settings.worker_metrics_port or None,
            workflows=sorted(runtime.registry.workflows),
            agents=sorted(runtime.registry.agents),
        )
        reconciler = asyncio.create_task(Reconciler(runtime).run(stop))
        try:
            async with worker:
                for hook in runtime.registry.on_worker_start:
                    await hook(runtime)
                await stop.wait()
                log.info("worker stopping")
        finally:
            # The reconciler ends only on `stop`: a hook or the worker that raised must
            # set it too, or this waits for ever and the process never exits.
            stop.set()
            await reconciler


async def main() -> None:
    configure_logging(get_settings().log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_worker(get_settings(), stop=stop)


def run() -> NoReturn:
    """Run the worker until SIGTERM or SIGINT, then leave the process (exit 1 if it failed)."""
    try:
        asyncio.run(main())
    except Exception:
        log.exception("worker failed")
        shutdown_tracing()
        exit_process(1)
    shutdown_tracing()
    exit_process()


if __name__ == "__main__":
    run()
