"""Pure parsing: durations and retry configuration (no servers needed)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workflows import StepRetries, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 seconds", timedelta(seconds=10)),
        ("5 minutes", timedelta(minutes=5)),
        ("7 days", timedelta(days=7)),
        ("1 hour", timedelta(hours=1)),
        ("2 weeks", timedelta(weeks=2)),
        ("1 year", timedelta(days=365)),
        ("250 ms", timedelta(milliseconds=250)),
        ("1.5 seconds", timedelta(seconds=1.5)),
        (1500, timedelta(milliseconds=1500)),
        (timedelta(minutes=3), timedelta(minutes=3)),
    ],
)
def test_durations(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["ten seconds", "5 fortnights", "", "-1 seconds", True, None, [1]])
def test_bad_durations_say_what_is_accepted(bad: object) -> None:
    with pytest.raises(ValueError, match="timeout"):
        parse_duration(bad, what="timeout")  # type: ignore[arg-type]


def test_retry_defaults_follow_cloudflare() -> None:
    retries = StepRetries.parse(None)
    assert (retries.limit, retries.delay, retries.backoff) == (5, timedelta(seconds=10), "exponential")
    policy = retries.temporal_policy()
    assert policy.maximum_attempts == 6 and policy.backoff_coefficient == 2.0


def test_retry_delays_per_backoff() -> None:
    delays = {
        b: [StepRetries.parse({"delay": "1 second", "backoff": b}).delay_before_retry(n) for n in (1, 2, 3)]
        for b in ("constant", "linear", "exponential")
    }
    assert delays["constant"] == [timedelta(seconds=s) for s in (1, 1, 1)]
    assert delays["linear"] == [timedelta(seconds=s) for s in (1, 2, 3)]
    assert delays["exponential"] == [timedelta(seconds=s) for s in (1, 2, 4)]
    # Temporal has no linear backoff: the workflow retries, one activity attempt at a time.
    assert StepRetries.parse({"backoff": "linear"}).temporal_policy().maximum_attempts == 1


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"limit": -1}, "retries.limit"),
        ({"backoff": "random"}, "retries.backoff"),
        ({"delay": "soon"}, "retries.delay"),
        ({"tries": 3}, "unknown keys"),
        (3, "expected a dict"),
    ],
)
def test_bad_retry_configs_fail_clearly(bad: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StepRetries.parse(bad)  # type: ignore[arg-type]


def test_a_duration_field_of_a_params_model_is_checked_and_kept_as_written() -> None:
    import pydantic

    from workflows import DurationStr

    assert pydantic.TypeAdapter(DurationStr).validate_python("5 minutes") == "5 minutes"
    with pytest.raises(pydantic.ValidationError, match="is not a duration"):
        pydantic.TypeAdapter(DurationStr).validate_python("soon")
