"""Errors of the Python client."""

from __future__ import annotations


class AgentClientError(Exception):
    """A WebSocket connection or call failed."""


class AgentHttpError(AgentClientError):
    """The HTTP API answered with an error: `status`, `code` and `message` as it sent them."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
