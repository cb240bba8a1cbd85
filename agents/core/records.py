"""The records an agent's scheduled calls, queue and workflow schedules are listed as
(what `Agent.get_schedules`, `get_queue` and `get_workflow_schedules` return)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

CallKind = Literal["scheduled", "delayed", "cron", "interval"]


@dataclass(slots=True)
class ScheduledCall:
    """One scheduled method call (Cloudflare's `Schedule`), as `get_schedules` returns it."""

    id: str
    callback: str
    """The agent method called."""
    payload: Any
    type: CallKind
    """`scheduled` (a datetime), `delayed` (seconds from now), `cron` or `interval`."""
    time: int
    """When it is next due, in epoch seconds (Cloudflare's `time`)."""
    created_at: int
    """Epoch milliseconds."""
    delay_in_seconds: float | None = None
    cron: str | None = None
    interval_seconds: float | None = None
    attempts: int = 5
    """Tries (with backoff) before a failing call is given up."""


@dataclass(slots=True)
class QueuedCall:
    """One queued method call (Cloudflare's `QueueItem`)."""

    id: str
    callback: str
    payload: Any
    created_at: int
    """Epoch milliseconds."""
    attempts: int = 5
    """Tries (with backoff) before a failing call is dropped."""


@dataclass(slots=True)
class ScheduleInfo:
    """One of an agent's schedules, as `get_workflow_schedules` and the HTTP API return it."""

    id: str
    workflow_name: str
    params: dict[str, Any]
    metadata: dict[str, Any]
    """The runs' metadata (`schedule` names the schedule)."""
    overlap: str
    created_at: int
    cron: str | None = None
    every: str | None = None
    at: str | None = None
    """Exactly one of `cron`, `every` and `at` is set."""
    paused: bool | None = None
    """None when Temporal no longer has the schedule (`missing_in_temporal`)."""
    runs_started: int = 0
    next_runs: list[str] = field(default_factory=list)
    """The next (up to five) start times, ISO 8601."""
    missing_in_temporal: bool = False
