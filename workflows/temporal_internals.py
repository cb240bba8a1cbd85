"""Every use the framework makes of temporalio's private parts, in one place.

Each is guarded by tests/test_library_guards.py (what it relies on, by behaviour) and
the import refuses a temporalio minor it was not tested with:
- `activity._Definition.from_callable`: whether a callable is an activity (the SDK has no
  public check); an inline step body is told from an activity by it.
- `__temporal_activity_definition`: the attribute `@activity.defn` sets, by which app
  modules' activities are found (the same check, for members of a class).
- sdk-core's `[TMPRL1100]` in a failure's message: a replay that no longer matches the
  code (a redeploy), told apart from a sandbox violation.
- `workflow_sandbox._runner._Instance`: the sandboxed instance AgentsSandboxRunner
  specialises (activities/_sandbox.py says what it buys: 1.2 ms of a 6 ms workflow task).
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from .versions import require_tested

require_tested(
    "temporalio", "1.35", relies_on="activity definitions, the sandbox's instance and sdk-core's error codes"
)

NONDETERMINISM_CODE = "[TMPRL1100]"
"""sdk-core's code for a history that does not replay on the workflow's code."""


def is_activity(fn: Any) -> bool:
    """Whether `fn` is an `@activity.defn` callable (a function or a bound method)."""
    return activity._Definition.from_callable(fn) is not None


def defines_activity(member: Any) -> bool:
    """Whether a class member (an unbound function) carries `@activity.defn`."""
    return hasattr(member, "__temporal_activity_definition")


def sandbox_instance_class() -> type:
    """The SDK's sandboxed workflow instance, for AgentsSandboxRunner to specialise.
    Imported on call: the API process never loads Temporal's worker machinery."""
    from temporalio.worker.workflow_sandbox._runner import _Instance

    return _Instance


def is_nondeterminism(error: BaseException | None) -> bool:
    """Whether a run failed because its history no longer replays on the code: sdk-core
    reports it as a bare ApplicationError whose message carries the code (a sandbox
    violation is a RestrictedWorkflowAccessError with a message of its own)."""
    return isinstance(error, ApplicationError) and NONDETERMINISM_CODE in error.message


__all__ = ["NONDETERMINISM_CODE", "defines_activity", "is_activity", "is_nondeterminism", "sandbox_instance_class"]
