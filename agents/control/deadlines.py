"""Every Temporal call the agent layer makes from a client has a deadline.

A Temporal server that accepts connections and never answers (overloaded, a stopped
process, a network that drops replies) would otherwise hold an HTTP request, a GET
included, for ever: the SDK's client calls wait without limit unless given
`rpc_timeout`. `RpcDeadlines`, a client interceptor, gives one to each call made without
its own. Long polls are not intercepted (the SDK does not route history fetches and
listings through interceptors): the code that reads a result passes its own timeout.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from temporalio.client import Interceptor, OutboundInterceptor
from temporalio.service import RPCError, RPCStatusCode

DEFAULT_RPC_TIMEOUT = timedelta(seconds=10)
"""The deadline of a Temporal call made without one: retries included, then the API
answers 503 with Retry-After."""

# The calls that answer at once; updates are left alone (they wait for the worker).
_CALLS = (
    "start_workflow",
    "cancel_workflow",
    "describe_workflow",
    "count_workflows",
    "query_workflow",
    "signal_workflow",
    "terminate_workflow",
    "create_schedule",
    "backfill_schedule",
    "delete_schedule",
    "describe_schedule",
    "pause_schedule",
    "trigger_schedule",
    "unpause_schedule",
    "update_schedule",
)


class RpcDeadlines(Interceptor):
    """A client interceptor: a call without `rpc_timeout` gets `default`."""

    def __init__(self, default: timedelta = DEFAULT_RPC_TIMEOUT) -> None:
        self.default = default

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Deadlines(next, self.default)


class _Deadlines(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, default: timedelta) -> None:
        super().__init__(next)
        self._default = default


def _with_deadline(name: str) -> Any:
    async def call(self: _Deadlines, input: Any) -> Any:
        if input.rpc_timeout is None:
            input = dataclasses.replace(input, rpc_timeout=self._default)
        return await getattr(self.next, name)(input)

    call.__name__ = name
    return call


for _name in _CALLS:  # the same three lines for each call the SDK routes through interceptors
    setattr(_Deadlines, _name, _with_deadline(_name))


def temporal_unreachable(err: RPCError) -> bool:
    """Whether a failed call means Temporal cannot be reached now (down, or hung past the
    call's deadline, which the SDK reports as CANCELLED) rather than a refusal."""
    return err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)
