"""Durations as Cloudflare writes them: "10 seconds", "5 minutes", "7 days".

A number is milliseconds (as in Cloudflare); a `timedelta` passes through.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator

_UNIT_SECONDS = {
    "ms": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
    "month": 2592000,
    "months": 2592000,
    "y": 31536000,
    "year": 31536000,
    "years": 31536000,
}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")

Duration = str | int | float | timedelta


def parse_duration(value: Duration, *, what: str = "duration") -> timedelta:
    """Turn a duration string, milliseconds or timedelta into a timedelta.

    Raises ValueError naming `what` and the accepted forms when the value is not one.
    """
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, bool):
        raise ValueError(f"{what}: expected a duration, got {value!r}")
    elif isinstance(value, (int, float)):
        result = _delta(value / 1000, what, value)
    elif isinstance(value, str) and (match := _PATTERN.match(value)):
        amount, unit = match.groups()
        seconds = _UNIT_SECONDS.get(unit.lower())
        if seconds is None:
            raise ValueError(
                f"{what}: unknown unit {unit!r} in {value!r}; "
                f"use ms, seconds, minutes, hours, days, weeks, months or years"
            )
        result = _delta(float(amount) * seconds, what, value)
    else:
        raise ValueError(
            f"{what}: {value!r} is not a duration; write it like '10 seconds', "
            f"'5 minutes', '7 days', as milliseconds, or as a timedelta"
        )
    if result < timedelta(0):
        raise ValueError(f"{what}: {value!r} is negative")
    return result


def _checked(value: str) -> str:
    parse_duration(value)
    return value


DurationStr = Annotated[str, AfterValidator(_checked)]
"""A params-model field that holds a duration as written ("1 day", "30 minutes"): checked
when the run is started (a clear 422 if it is not one), kept as the text it was given."""


def _delta(seconds: float, what: str, value: Duration) -> timedelta:
    try:
        return timedelta(seconds=seconds)
    except (OverflowError, ValueError):  # past timedelta's range (999,999,999 days), or nan/inf
        raise ValueError(f"{what}: {value!r} is out of range (at most 999,999,999 days)") from None


def describe(delta: timedelta) -> str:
    """A short human form for messages: `90s`, `1.5s`, `3d`."""
    seconds = delta.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
