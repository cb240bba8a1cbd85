"""Client calls of `@callable_method`s: one path for HTTP `/rpc/{method}` and WebSocket
`rpc` frames, so both check the method and its arguments the same way and both enter
the agent in its turn."""

from __future__ import annotations

import inspect
from typing import Any

from agents.actor.agent import Agent, callable_options, enter
from agents.core.errors import AgentError, NotFoundError, ValidationError
from agents.core.payloads import check_json, to_json_value


class RpcFailedError(AgentError):
    """The called method raised; the message names the exception."""

    status = 400
    code = "rpc_failed"


class ResultNotJsonError(AgentError):
    """The called method returned (or streamed) a value JSON cannot carry: a bug of the
    method, so a 500, said as such instead of a connection left without a reply."""

    status = 500
    code = "result_not_json"


def rpc_json(method: str, value: Any, *, what: str = "result") -> Any:
    """A method's result (or chunk) as JSON data; ResultNotJsonError saying why not."""
    try:
        return to_json_value(value, what=f"{method}() {what}")
    except ValidationError as err:
        raise ResultNotJsonError(err.message) from None


async def call_callable(agent: Agent[Any], method: str, args: list[Any], *, stream: Any = None) -> tuple[Any, bool]:
    """Call `agent.<method>(*args)` for a client; (its result, whether it is a streaming
    method, which got `stream` first and sent its chunks there).

    NotFoundError for a method that is not `@callable_method`, ValidationError for
    arguments its signature does not take, RpcFailedError when the method raised
    anything but an AgentError (which passes through with its own status),
    ResultNotJsonError when its result is not JSON (`rpc_json`)."""
    options = callable_options(agent, method)
    if options is None:
        raise NotFoundError(
            f"{agent.agent_type} has no callable method {method!r} (a method is not callable "
            "unless marked @callable_method)"
        )
    check_json(args, what="args")
    fn = getattr(agent, method)
    call_args = [stream, *args] if options["streaming"] else list(args)
    try:
        inspect.signature(fn).bind(*call_args)
    except TypeError as err:
        raise ValidationError(f"{method}: {err}") from None
    try:
        result = await enter(agent, fn, *call_args)
    except AgentError:
        raise
    except Exception as err:
        raise RpcFailedError(f"{type(err).__name__}: {err}") from err
    return rpc_json(method, result), options["streaming"]
