"""Errors workflow code raises or sees. All are Temporal ApplicationErrors, so a
raised one fails the run (instead of retrying the workflow task) with a clear type
and message in Temporal UI."""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import ActivityError, ApplicationError


class WorkflowRejectedError(ApplicationError):
    """Raised by `wait_for_approval` when the run was rejected."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(
            f"Workflow rejected: {reason or 'no reason given'}",
            type="WorkflowRejectedError",
            non_retryable=True,
        )
        self.reason = reason


class WorkflowTerminatedError(ApplicationError):
    """What the undos of a run terminated with rollback are given as `error`
    (`terminate_workflow(id, rollback=True)`): its message is the terminate's reason."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "terminated", type="WorkflowTerminatedError", non_retryable=True)
        self.reason = reason


class NonRetryableError(ApplicationError):
    """Raise from an activity to fail its step at once, without further retries."""

    def __init__(self, message: str, *details: Any, type: str | None = None) -> None:
        super().__init__(message, *details, type=type or "NonRetryableError", non_retryable=True)


class EventTimeoutError(ApplicationError):
    """`wait_for_event` (or `wait_for_approval`) reached its timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="EventTimeoutError", non_retryable=True)


class StepTimeoutError(ApplicationError):
    """A step's attempt ran past its timeout and no retry was left."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="StepTimeoutError", non_retryable=True)


class StepNameError(ApplicationError):
    """A step name was used twice in one run (names identify steps)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="StepNameError", non_retryable=True)


def error_info(exc: BaseException) -> dict[str, str]:
    """`{name, message}` of the error a user would recognise (the root cause)."""
    while isinstance(exc, ActivityError) and exc.cause is not None:
        exc = exc.cause
    if isinstance(exc, ApplicationError):
        return {"name": exc.type or type(exc).__name__, "message": exc.message}
    return {"name": type(exc).__name__, "message": str(exc)}
