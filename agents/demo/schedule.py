"""Demo: schedule `sync_data` when the worker starts, if `DEMO_SYNC_EVERY` is set
(`make dev` sets "1 minute"; unset, as in tests, nothing is scheduled)."""

from __future__ import annotations

import os
from typing import Any

import structlog

from agents import ConflictError

log = structlog.get_logger("demo")


async def on_worker_start(runtime: Any) -> None:
    every = os.environ.get("DEMO_SYNC_EVERY")
    if not every:
        return
    agent = runtime.agent("task-agent", os.environ.get("DEMO_AGENT", "demo"))
    try:
        await agent.schedule_workflow("sync_data", {"source": "inventory"}, every=every, id="sync-data")
        log.info("demo sync_data scheduled", every=every, agent=f"task-agent/{agent.name}")
    except ConflictError:
        pass  # already scheduled by an earlier start (its interval stays as it was)
