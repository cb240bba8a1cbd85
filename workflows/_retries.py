"""Step retry configuration, Cloudflare's shape mapped onto Temporal.

`limit` counts retries after the first attempt (limit 2 = at most 3 attempts).
Constant and exponential backoff are Temporal retry policies (coefficient 1 and 2);
Temporal has no linear backoff, so a linear step is retried by the workflow itself,
one activity per attempt with a durable timer of `delay * n` between them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from temporalio.common import RetryPolicy

from ._durations import Duration, parse_duration

Backoff = Literal["constant", "linear", "exponential"]
_MAX_INTERVAL = timedelta(days=365)
_MIN_INTERVAL = timedelta(milliseconds=1)


@dataclass(frozen=True)
class StepRetries:
    limit: int = 5
    """Retries after the first attempt."""
    delay: timedelta = timedelta(seconds=10)
    """Wait before the first retry."""
    backoff: Backoff = "exponential"
    """How the wait grows: `constant` (delay), `linear` (delay * n), `exponential` (delay * 2^(n-1))."""
    delay_fn: Callable[[int, Exception], Any] | None = None
    """A dynamic delay (`retries={"delay": fn}`): `fn(attempt, error)` -> the wait before the
    next try (a duration: "5 seconds", seconds, a timedelta), or None to give up now.
    `attempt` is the try that failed (1-based), `error` its ApplicationError (`type`,
    `message`). It runs in workflow code: deterministic, no I/O."""

    @property
    def driven_by_workflow(self) -> bool:
        """Retried by the workflow, one activity per try (linear, dynamic): Temporal's
        policies cannot express the wait."""
        return self.backoff == "linear" or self.delay_fn is not None

    @classmethod
    def parse(cls, value: StepRetries | dict[str, Any] | None) -> StepRetries:
        if value is None:
            return cls()
        if isinstance(value, StepRetries):
            return value
        if not isinstance(value, dict):
            raise ValueError(f"retries: expected a dict like {{'limit': 3}}, got {value!r}")
        unknown = set(value) - {"limit", "delay", "backoff"}
        if unknown:
            raise ValueError(f"retries: unknown keys {sorted(unknown)}; use limit, delay, backoff")
        default = cls()
        limit = value.get("limit", default.limit)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise ValueError(f"retries.limit: expected a whole number >= 0, got {limit!r}")
        backoff = value.get("backoff", default.backoff)
        if backoff not in ("constant", "linear", "exponential"):
            raise ValueError(f"retries.backoff: {backoff!r}; use 'constant', 'linear' or 'exponential'")
        given = value.get("delay", default.delay)
        if callable(given):  # a dynamic delay, decided after each failed try
            return cls(limit=limit, delay=default.delay, backoff=backoff, delay_fn=given)
        delay = parse_duration(given, what="retries.delay")
        return cls(limit=limit, delay=delay, backoff=backoff)

    def as_config(self) -> dict[str, Any]:
        """As a step's context shows it (Cloudflare's resolved `config.retries`; seconds)."""
        delay: Any = "dynamic" if self.delay_fn is not None else self.delay.total_seconds()
        return {"limit": self.limit, "delay": delay, "backoff": self.backoff}

    def delay_before_retry(self, retry: int) -> timedelta:
        """Wait before retry number `retry` (1-based)."""
        if self.backoff == "constant":
            return self.delay
        if self.backoff == "linear":
            return self.delay * retry
        return min(self.delay * (2 ** (retry - 1)), _MAX_INTERVAL)

    def wait_after(self, attempt: int, error: BaseException | None, *, what: str) -> timedelta | None:
        """The wait after try `attempt` failed with `error`, before the next (a workflow-driven
        retry); None to give up now (a dynamic delay said so). `what` names it in errors."""
        if self.delay_fn is None:
            return self.delay_before_retry(attempt)
        wanted = self.delay_fn(attempt, error)
        return None if wanted is None else parse_duration(wanted, what=what)

    def temporal_policy(self) -> RetryPolicy:
        """The server-side policy; for linear backoff and a dynamic delay, one attempt per activity."""
        if self.driven_by_workflow:
            return RetryPolicy(maximum_attempts=1)
        initial = max(self.delay, _MIN_INTERVAL)
        coefficient = 1.0 if self.backoff == "constant" else 2.0
        return RetryPolicy(
            initial_interval=initial,
            backoff_coefficient=coefficient,
            maximum_interval=max(initial, self.delay_before_retry(max(self.limit, 1))),
            maximum_attempts=self.limit + 1,
        )


DEFAULT_STEP_TIMEOUT: Duration = "10 minutes"
