"""An app module whose `on_worker_start` raises: the worker must exit non-zero, not hang."""

from __future__ import annotations

from typing import Any


async def on_worker_start(runtime: Any) -> None:
    raise RuntimeError("the start hook failed on purpose")
