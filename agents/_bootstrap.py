"""What every process of the agent layer starts with: Redis, Temporal and the loaded app
as one `AgentRuntime`, and how it leaves. `api.py` and `worker.py` both use it."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NoReturn

from temporalio.runtime import Runtime

from ._metrics import Metrics
from ._redis import connect_redis, ready_redis
from ._registry import AppRegistry
from ._runtime import AgentRuntime
from ._temporal import connect_temporal
from .settings import Settings


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, metrics: Metrics | None = None, sdk_runtime: Runtime | None = None
) -> AsyncIterator[AgentRuntime]:
    """Connect Redis and Temporal and load `AGENT_MODULES`; Redis is closed on the way out.

    `sdk_runtime`: a Temporal SDK runtime of the process's own (the worker's serves metrics)."""
    redis = connect_redis(settings)
    try:
        await ready_redis(redis)
        temporal = await connect_temporal(settings, runtime=sdk_runtime)
        registry = AppRegistry.from_modules(settings.module_list)
        yield AgentRuntime(redis=redis, registry=registry, settings=settings, temporal=temporal, metrics=metrics)
    finally:
        await redis.aclose()


def exit_process(code: int = 0) -> NoReturn:
    """Leave once everything has shut down gracefully, without interpreter finalization:
    the Temporal SDK's native threads may still call into Python while it finalizes,
    which aborts the process (exit 134, seen in about 1 of 4 worker shutdowns)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
