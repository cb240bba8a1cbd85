"""One root exception type for the agent layer, with structured attributes."""

from __future__ import annotations


class AgentError(Exception):
    """Base of every error the agent layer raises on purpose.

    `status` is the HTTP status the API answers with; `code` a stable machine name.
    """

    status: int = 400
    code: str = "agent_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(AgentError):
    status = 404
    code = "not_found"


class ConflictError(AgentError):
    status = 409
    code = "conflict"


class ValidationError(AgentError):
    status = 422
    code = "invalid"


class StateRejectedError(AgentError):
    """`validate_state_change` refused a state change."""

    status = 422
    code = "state_rejected"


class InvalidCursorError(AgentError):
    """A pagination cursor that is not one this API handed out."""

    status = 400
    code = "invalid_cursor"


class UnauthenticatedError(AgentError):
    """No token, or one that is not valid (unknown key, bad signature, expired)."""

    status = 401
    code = "unauthenticated"


class ForbiddenError(AgentError):
    """A valid token whose scopes do not cover the agent or the action."""

    status = 403
    code = "forbidden"


class TooLargeError(AgentError):
    """A request body over the configured limit."""

    status = 413
    code = "too_large"


class AgentBusyError(AgentError):
    """An agent's turn could not be had within the bounded wait (`AGENT_TURN_WAIT`)."""

    status = 503
    code = "agent_busy"


class TurnLostError(AgentError):
    """A call's turn lapsed (its lease was not renewed in time) before it wrote state."""

    status = 503
    code = "turn_lost"
