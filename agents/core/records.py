"""The records an agent's scheduled calls, queue and workflow schedules are listed as
(what `Agent.get_schedules`, `get_queue` and `get_workflow_schedules` return)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agents.core.errors import ValidationError

CallKind = Literal["scheduled", "delayed", "cron", "interval"]


@dataclass(frozen=True, slots=True)
class RetryOptions:
    """How a failing scheduled or queued call is tried again (Cloudflare's `retry`
    option of `schedule`, `scheduleEvery` and `queue`): after `base_delay`, then twice
    as long each time, at most `max_delay` apart."""

    max_attempts: int = 5
    """Tries in all, the first included (1 to 100), before the call is given up."""
    base_delay: float = 1.0
    """Seconds before the second try (at least 0.01)."""
    max_delay: float = 60.0
    """The longest wait between two tries, in seconds (at least `base_delay`, at most a day)."""


_CLOUDFLARE_RETRY = {
    "maxAttempts": ("max_attempts", 1),
    "baseDelayMs": ("base_delay", 1000),
    "maxDelayMs": ("max_delay", 1000),
}


def retry_options(retry: RetryOptions | Mapping[str, Any] | None, attempts: int | None) -> RetryOptions:
    """The retry a call asked for: `retry` (RetryOptions, or a mapping with its field
    names or Cloudflare's `maxAttempts` / `baseDelayMs` / `maxDelayMs`), or `attempts=`
    alone; checked, ValidationError saying what to change."""
    if retry is not None and attempts is not None:
        raise ValidationError("give attempts= or retry=, not both (retry's max_attempts counts the tries)")
    if isinstance(retry, Mapping):
        values: dict[str, Any] = {}
        for key, value in retry.items():
            name, scale = _CLOUDFLARE_RETRY.get(key, (key, 1))
            if name not in ("max_attempts", "base_delay", "max_delay"):
                raise ValidationError(f"retry has no option {key!r}: max_attempts, base_delay, max_delay (seconds)")
            values[name] = value / scale if scale != 1 and isinstance(value, int | float) else value
        retry = RetryOptions(**values)
    elif retry is None:
        retry = RetryOptions() if attempts is None else RetryOptions(max_attempts=attempts)
    elif not isinstance(retry, RetryOptions):
        raise ValidationError("retry must be a RetryOptions or a mapping of max_attempts, base_delay, max_delay")
    tries, base, most = retry.max_attempts, retry.base_delay, retry.max_delay
    if isinstance(tries, bool) or not isinstance(tries, int) or not 1 <= tries <= 100:
        raise ValidationError("attempts (retry's max_attempts) must be a whole number from 1 to 100")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (base, most)):
        raise ValidationError("retry's base_delay and max_delay are numbers of seconds")
    if not 0.01 <= base <= most <= 86_400:
        raise ValidationError("retry needs 0.01 <= base_delay <= max_delay <= 86400 seconds")
    return RetryOptions(tries, float(base), float(most))


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
    base_delay: float = 1.0
    """Seconds before a failing call's second try; the wait doubles each time."""
    max_delay: float = 60.0
    """The longest wait between two tries, in seconds."""


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
    base_delay: float = 1.0
    """Seconds before a failing call's second try; the wait doubles each time."""
    max_delay: float = 60.0
    """The longest wait between two tries, in seconds."""


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
