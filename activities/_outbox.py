"""The worker side of `workflows.outbox`: what workflow code posts (progress reports) is
delivered on the worker's event loop, one message at a time per run, so a run's reports
reach its agent and clients in the order the run made them, and a slow agent hook holds
up only its own run's reports."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import structlog

from workflows.outbox import close_outbox, open_outbox

log = structlog.get_logger("agents.bridge")

_RETRY_DELAYS = (0.2, 0.4, None)
"""Seconds before each further attempt at delivering one message; None: give up."""

_DRAIN_ON_CLOSE = 5.0
"""Seconds a stopping worker waits for reports already posted to go out."""


class Outbox:
    def __init__(self, deliver: Callable[[Any], Awaitable[None]]) -> None:
        self._deliver = deliver
        self._queues: dict[str, deque[Any]] = {}
        self._drains: dict[str, asyncio.Task[None]] = {}

    async def delivered(self, run_key: str) -> None:
        """Return once what the run posted so far has been delivered (or given up on)."""
        drain = self._drains.get(run_key)
        if drain is not None:
            await asyncio.shield(drain)

    @contextlib.asynccontextmanager
    async def opened(self, task_queue: str) -> AsyncIterator[None]:
        """Open for the workflows of `task_queue` while the worker runs."""
        loop = asyncio.get_running_loop()

        def send(run_key: str, message: Any) -> None:  # on a workflow thread
            loop.call_soon_threadsafe(self._enqueue, run_key, message)

        open_outbox(task_queue, send)
        try:
            yield
        finally:
            close_outbox(task_queue, send)
            if self._drains:
                _, late = await asyncio.wait(set(self._drains.values()), timeout=_DRAIN_ON_CLOSE)
                # Not left to run on past the worker's shutdown (its Redis client closes next).
                for drain in late:
                    drain.cancel()
                if late:
                    log.warning("progress reports dropped at shutdown", runs=len(late))

    def _enqueue(self, run_key: str, message: Any) -> None:
        """On the worker's loop. `run_key` is `<workflow id>/<run id>`."""
        queue = self._queues.get(run_key)
        if queue is None:
            queue = self._queues[run_key] = deque()
            self._drains[run_key] = asyncio.get_running_loop().create_task(self._drain(run_key, queue))
        queue.append(message)

    async def _drain(self, run_key: str, queue: deque[Any]) -> None:
        workflow_id, _, run_id = run_key.rpartition("/")
        with structlog.contextvars.bound_contextvars(workflow_id=workflow_id, run_id=run_id, step="report_progress"):
            while queue:
                await self._deliver_one(queue.popleft())
        del self._queues[run_key]  # nothing can have been queued since the check: same loop
        del self._drains[run_key]

    async def _deliver_one(self, message: Any) -> None:
        for delay in _RETRY_DELAYS:  # as a local activity would be retried (an agent busy, Redis away)
            try:
                await self._deliver(message)
                return
            except Exception:
                if delay is None:  # non-durable: a lost report must not stop the next ones
                    log.warning("a progress report did not reach the agent", exc_info=True)
                    return
                await asyncio.sleep(delay)
