"""Fire-and-forget tasks that are not lost: the event loop keeps only a weak reference to
a task, so one nobody holds may be collected before it has run (asyncio's documentation
of `create_task`). `background` holds each until it is done."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

_RUNNING: set[asyncio.Task[Any]] = set()


def background(work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Run `work` on the running loop, held until it ends."""
    task = asyncio.get_running_loop().create_task(work)
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return task
