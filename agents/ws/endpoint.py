"""The WebSocket route `/agents/{agent}/{name}?_pk=<connection id>`."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import structlog
from fastapi import APIRouter, WebSocket
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agents._agent import Agent, callable_options, maybe_await
from agents._auth import ANONYMOUS
from agents._names import SAFE_NAME_RE
from agents.errors import AgentError, NotFoundError

from . import protocol
from .connection import CLOSE_TRY_AGAIN, Connection
from .streaming import StreamingResponse

log = structlog.get_logger("agents.ws")
router = APIRouter()

_MAX_CONCURRENT_CALLS = 32


@router.websocket("/agents/{agent}/{name}")
async def agent_socket(websocket: WebSocket, agent: str, name: str) -> None:
    rt, hub = websocket.app.state.runtime, websocket.app.state.hub
    settings = rt.settings
    await websocket.accept()  # then close with a code: a refused handshake reaches browsers as 1006
    try:
        if not SAFE_NAME_RE.match(name):
            raise NotFoundError(f"agent name {name!r} is not allowed")
        instance = rt.agent(agent, name)
    except NotFoundError as err:
        await websocket.close(1008, protocol.close_reason(err.message))
        return
    query = dict(websocket.query_params)
    query.pop("token", None)  # a credential, not something for agent hooks to see
    principal = getattr(websocket.state, "principal", None) or ANONYMOUS
    connection = Connection(websocket, query.pop("_pk", None) or uuid.uuid4().hex, query=query,
                            max_queue=settings.ws_queue_size, principal=principal)  # fmt: skip
    writer: asyncio.Task[None] | None = None
    calls: set[asyncio.Task[None]] = set()
    with structlog.contextvars.bound_contextvars(agent=f"{agent}/{name}", connection=connection.id):
        try:
            await hub.join(instance.keys.channel, connection)  # broadcasts queue up from here on
            await instance.refresh_state()
        except (RedisConnectionError, RedisTimeoutError):
            await hub.leave(instance.keys.channel, connection)
            await connection.close(CLOSE_TRY_AGAIN, "Redis is unreachable: reconnect shortly")
            return
        try:
            connection.state_version = instance.state_version
            try:
                await maybe_await(instance.on_connect(connection))
            except Exception as err:  # the agent refused the connection
                await connection.close(1008, str(err) or "connection refused")
                return
            await connection.send_now(protocol.identity(name, agent, state_follows=instance.state_is_set))
            if instance.state_is_set:
                await connection.send_now(protocol.state(instance.state))
            await connection.send_now(protocol.MCP_EMPTY)
            writer = asyncio.create_task(connection.run_writer())
            await _receive(websocket, instance, connection, calls)
        except Exception:
            log.exception("websocket handler failed")
        finally:
            await hub.leave(instance.keys.channel, connection)
            for task in calls:
                task.cancel()
            if writer:
                writer.cancel()
            try:
                await maybe_await(instance.on_close(connection))
            except Exception:
                log.exception("on_close hook failed")


async def _receive(websocket: WebSocket, agent: Agent[Any], connection: Connection,
                   calls: set[asyncio.Task[None]]) -> None:  # fmt: skip
    while not connection.closed:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            connection.send(protocol.error("binary frames are not supported; send JSON text"))
            continue
        try:
            frame = json.loads(text)
        except ValueError:
            connection.send(protocol.error("malformed frame: not JSON"))
            continue
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind in ("cf_agent_state", "rpc") and not _may_control(agent, connection):
            refusal = f"forbidden: this token may only read {agent.agent_type}/{agent.name}"
            connection.send(protocol.state_error(refusal) if kind == "cf_agent_state"
                            else protocol.rpc_error(frame.get("id"), refusal))  # fmt: skip
            continue
        if kind == "cf_agent_state":
            await _set_state(agent, connection, frame)
        elif kind == "rpc":
            if len(calls) >= _MAX_CONCURRENT_CALLS:
                connection.send(protocol.rpc_error(frame.get("id"), "too many calls in flight on this connection"))
                continue
            task = asyncio.create_task(_call(agent, connection, frame))
            calls.add(task)
            task.add_done_callback(calls.discard)
        else:
            try:
                await maybe_await(agent.on_message(connection, frame))
            except Exception as err:
                connection.send(protocol.error(f"on_message failed: {err}"))


def _may_control(agent: Agent[Any], connection: Connection) -> bool:
    return connection.principal.can("control", agent.agent_type, agent.name)


async def _set_state(agent: Agent[Any], connection: Connection, frame: dict[str, Any]) -> None:
    if "state" not in frame:
        connection.send(protocol.state_error("cf_agent_state needs a 'state' field"))
        return
    try:
        await agent.set_state(frame["state"], source=connection.id)
    except AgentError as err:
        connection.send(protocol.state_error(err.message))
        return
    connection.state_version = max(connection.state_version, agent.state_version)


async def _call(agent: Agent[Any], connection: Connection, frame: dict[str, Any]) -> None:
    call_id, method, args = frame.get("id"), frame.get("method"), frame.get("args", [])
    if not isinstance(method, str) or not isinstance(args, list):
        connection.send(protocol.rpc_error(call_id, "an rpc frame needs 'method' (string) and 'args' (list)"))
        return
    options = callable_options(agent, method)
    if options is None:
        connection.send(protocol.rpc_error(call_id, f"method {method!r} is not callable on {agent.agent_type}"))
        return
    try:
        await agent.refresh_state()
        fn = getattr(agent, method)
        if options.get("streaming"):
            stream = StreamingResponse(connection, call_id)
            await maybe_await(fn(stream, *args))
            stream.end()
        else:
            connection.send(protocol.rpc_result(call_id, await maybe_await(fn(*args))))
    except Exception as err:
        message = err.message if isinstance(err, AgentError) else f"{type(err).__name__}: {err}"
        connection.send(protocol.rpc_error(call_id, message))
