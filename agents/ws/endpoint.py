"""The WebSocket route `/agents/{agent}/{name}?_pk=<connection id>`."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import structlog
from opentelemetry.trace import SpanKind
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from uvicorn.protocols.utils import ClientDisconnected

from agents.actor.agent import SERVER, WORKFLOW, Agent, enter
from agents.actor.rpc import call_callable
from agents.chat import CLIENT_FRAMES, ChatAgent, handle_chat_frame, offer_resume
from agents.core.auth import ANONYMOUS
from agents.core.errors import AgentBusyError, AgentError, NotFoundError
from agents.core.names import SAFE_NAME_RE
from agents.core.payloads import MAX_JSON_DEPTH
from agents.core.tasks import background
from agents.core.tracing import agent_attributes, tracer
from agents.http.starlette_internals import routed_scope
from agents.ws import protocol
from agents.ws.connection import Connection, ConnectionContext
from agents.ws.protocol import CloseCode
from agents.ws.server_protocol import aborter, client_gone, direct_writer
from agents.ws.streaming import StreamingResponse

log = structlog.get_logger("agents.ws")


class AgentSockets:
    """The API's outermost ASGI layer: a WebSocket connection to `/agents/{agent}/{name}`
    goes through `guard` (authentication) straight to `agent_socket`; everything else to
    the FastAPI app. A connection lives for hours, and every layer it passes through stays
    in memory as long (a coroutine frame each): the router and FastAPI's dependency and
    exit-stack machinery were a third of what an idle connection cost, FastAPI's and
    Starlette's own middleware another 1.2 KB. `guard` wraps the socket handler the way
    the app's middleware wraps its routes (`api.asgi`)."""

    def __init__(self, app: Starlette, *, guard: Callable[[ASGIApp], ASGIApp], agents_prefix: str = "/agents") -> None:
        self.app = app
        self._sockets = guard(self._socket)
        self._path = re.compile(rf"{re.escape(agents_prefix)}/(?P<agent>[^/]+)/(?P<name>[^/]+)")

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself, as the pass-through middlewares: no frame of this layer
        # stays for the connection's lifetime.
        if scope["type"] == "websocket" and (match := self._path.fullmatch(scope["path"])):
            return self._sockets(routed_scope(scope, app=self.app, path_params=match.groupdict()), receive, send)
        return self.app(scope, receive, send)

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = scope["path_params"]
        websocket = WebSocket(scope, receive, send)
        await agent_socket(
            websocket,
            params["agent"],
            params["name"],
            write_now=direct_writer(send),
            gone=client_gone(send),
            abort=aborter(send),
        )


_MAX_CONCURRENT_CALLS = 32
"""Frames of one connection being handled at once; past that the connection is not read."""


_ON_CLOSE_TRIES = 3
"""Times `on_close` waits its turn (AGENT_TURN_WAIT each) before it is given up, logged."""


async def _before_connect(instance: Agent[Any], websocket: WebSocket, name: str) -> str | None:
    """The agent type's `on_before_connect`: why it refused the connection, or None."""
    try:
        answer = await instance.on_before_connect(HTTPConnection(websocket.scope), name)
    except AgentError as err:
        return err.message
    if answer is None:
        return None
    if not isinstance(answer, Response):
        log.error("on_before_connect returned neither a Response nor None", returned=type(answer).__name__)
        return "refused: on_before_connect returned neither a Response nor None"
    body = bytes(answer.body).decode("utf-8", "replace") if hasattr(answer, "body") else ""
    return f"{answer.status_code} {body}".strip()


async def agent_socket(
    websocket: WebSocket,
    agent: str,
    name: str,
    *,
    write_now: Callable[[str], bool] | None = None,
    gone: Callable[[], bool] = lambda: False,
    abort: Callable[[], None] | None = None,
) -> None:
    rt, hub = websocket.app.state.runtime, websocket.app.state.hub
    settings = rt.settings
    await websocket.accept()  # then close with a code: a refused handshake reaches browsers as 1006
    try:
        if not SAFE_NAME_RE.match(name):
            raise NotFoundError(f"agent name {name!r} is not allowed")
        instance = rt.agent(agent, name)
    except NotFoundError as err:
        await websocket.close(CloseCode.POLICY, protocol.close_reason(err.message))
        return
    if instance.overrides("on_before_connect") and (refusal := await _before_connect(instance, websocket, name)):
        await websocket.close(CloseCode.POLICY, protocol.close_reason(refusal))
        return
    # Read from the scope, not `websocket.query_params` / `websocket.state`, which would
    # keep parsed copies on the socket object for the connection's lifetime.
    query = dict(parse_qsl(websocket.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
    query.pop("token", None)  # a credential, not something for agent hooks to see
    connection_id = query.pop("_pk", None) or uuid.uuid4().hex
    if not SAFE_NAME_RE.match(connection_id) or connection_id in (SERVER, WORKFLOW):
        await websocket.close(
            CloseCode.POLICY,
            protocol.close_reason(
                f"connection id (_pk) {connection_id[:40]!r} is not allowed: 1-128 of A-Z a-z 0-9 _ . -, "
                f"and not {SERVER!r} or {WORKFLOW!r}"
            ),
        )
        return
    principal = websocket.scope.get("state", {}).get("principal") or ANONYMOUS
    connection = Connection(
        websocket,
        connection_id,
        query=query,
        max_queue=settings.ws_queue_size,
        max_queue_bytes=settings.ws_queue_bytes,
        principal=principal,
        write_now=write_now,
        abort=abort,
    )
    if instance.overrides("get_connection_tags") and not await _tag(instance, websocket, connection):
        return
    calls: set[asyncio.Task[None]] = set()
    with structlog.contextvars.bound_contextvars(agent=f"{agent}/{name}", connection=connection.id):
        connected = False  # on_connect ran: on_close is owed
        try:
            await hub.join(instance.keys.channel, connection)  # broadcasts queue up from here on
            if instance.overrides("on_connect"):
                try:  # in the agent's turn: the state sent next is the one on_connect saw
                    connected = await enter(instance, _on_connect, instance, connection, gone)
                except (RedisConnectionError, RedisTimeoutError):
                    raise
                except Exception as err:  # the agent refused the connection (or stayed busy)
                    if not isinstance(err, AgentError):
                        await _on_error(instance, connection, err)
                    await connection.close(CloseCode.POLICY, str(err) or "connection refused")
                    return
                if not connected:
                    return  # the client left while it waited for the turn: nothing to greet
            else:
                await instance.refresh_state()
            connection.state_version = instance.state_version
            await connection.send_now(protocol.identity(name, agent, state_follows=instance.state_is_set))
            if instance.state_is_set:
                await connection.send_now(protocol.state(instance.state))
            await connection.send_now(protocol.MCP_EMPTY)
            if isinstance(instance, ChatAgent):  # a stream in progress: the client may resume it
                await offer_resume(instance, connection, answer_idle=False)
            connection.start_writing()
            await _receive(websocket, instance, connection, calls)
        except (RedisConnectionError, RedisTimeoutError):
            await connection.close(CloseCode.TRY_AGAIN, "Redis is unreachable: reconnect shortly")
        except Exception as err:
            if gone() or isinstance(err, WebSocketDisconnect | ClientDisconnected):
                log.debug("client left", error=repr(err))  # an ordinary disconnect, not a failure
            else:
                log.exception("websocket handler failed")
        finally:
            # Whatever ended it: the hub forgets the connection (and its subscription), so
            # nothing leaks whichever exception got here.
            await hub.leave(instance.keys.channel, connection)
            connection.stop_writing()
            connection.closed = True  # a streaming call still sending learns it has no reader
            if calls:
                # What the client sent before it left is still carried out (a state change
                # sent just before closing must not be lost); only answers go nowhere.
                _, unfinished = await asyncio.wait(set(calls), timeout=settings.agent_turn_wait + 1)
                for task in unfinished:
                    task.cancel()
            if connected and instance.overrides("on_close"):
                background(_on_close(instance, connection))


async def _on_connect(agent: Agent[Any], connection: Connection, gone: Callable[[], bool]) -> bool:
    """`on_connect`, in the turn, unless the client left while it waited for it (many
    clients that connect and drop at once would otherwise keep the agent busy greeting
    clients no longer there). Whether it ran."""
    if gone():
        return False
    await agent.on_connect(connection)
    return True


async def _on_close(agent: Agent[Any], connection: Connection) -> None:
    """`on_close`, owed to every connection whose `on_connect` ran: a busy agent is waited
    for a few turns (off the closing socket's path) rather than the hook being lost."""
    for attempt in range(1, _ON_CLOSE_TRIES + 1):
        try:
            await enter(agent, agent.on_close, connection)
            return
        except AgentBusyError:
            if attempt == _ON_CLOSE_TRIES:
                log.warning("on_close given up: the agent stayed busy", connection=connection.id)
        except Exception:
            log.exception("on_close hook failed", connection=connection.id)
            return


async def _receive(
    websocket: WebSocket, agent: Agent[Any], connection: Connection, calls: set[asyncio.Task[None]]
) -> None:
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
        except RecursionError:  # nesting deeper than the parser recurses
            connection.send(protocol.error(f"malformed frame: nested deeper than {MAX_JSON_DEPTH} levels"))
            continue
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind in ("cf_agent_state", "rpc") and not _may_control(agent, connection):
            refusal = f"forbidden: this token may only read {agent.agent_type}/{agent.name}"
            connection.send(
                protocol.state_error(refusal)
                if kind == "cf_agent_state"
                else protocol.rpc_error(frame.get("id"), refusal)
            )
            continue
        # Each frame is handled in a task of its own, so a long call does not stop the
        # reading; frames that enter the agent queue for its turn in the order sent.
        if kind in CLIENT_FRAMES and isinstance(agent, ChatAgent):
            if not _may_control(agent, connection):
                connection.send(protocol.error(f"forbidden: this token may only read {agent.agent_type}/{agent.name}"))
                continue
            work = _chat(agent, connection, frame)
        elif kind == "cf_agent_state":
            work = _set_state(agent, connection, frame)
        elif kind == "rpc":
            work = _call(agent, connection, frame)
        elif agent.overrides("on_message"):
            work = _on_message(agent, connection, frame)
        else:
            continue
        while len(calls) >= _MAX_CONCURRENT_CALLS:  # backpressure: stop reading a while
            await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.create_task(work)
        calls.add(task)
        task.add_done_callback(calls.discard)


async def _on_message(agent: Agent[Any], connection: Connection, frame: Any) -> None:
    try:
        await enter(agent, agent.on_message, connection, frame)
    except Exception as err:
        connection.send(protocol.error(f"on_message failed: {err}"))
        if not isinstance(err, AgentError):
            await _on_error(agent, connection, err)


async def _on_error(agent: Agent[Any], connection: Connection, error: Exception) -> None:
    """The agent's `on_error` for a hook of a connection's that raised (its own error
    logged): in the agent's turn, as every entry into its code (the default only logs)."""
    try:
        if agent.overrides("on_error"):
            await enter(agent, agent.on_error, connection, error)
        else:
            await agent.on_error(connection, error)
    except Exception:
        log.exception("on_error hook failed", connection=connection.id)


async def _tag(agent: Agent[Any], websocket: WebSocket, connection: Connection) -> bool:
    """`get_connection_tags`, before the connection joins; False (closed, 1008) if it failed."""
    try:
        connection.set_tags(
            await agent.get_connection_tags(connection, ConnectionContext(HTTPConnection(websocket.scope)))
        )
    except Exception as err:
        log.warning("get_connection_tags failed", connection=connection.id, error=repr(err))
        reason = err.message if isinstance(err, AgentError) else f"get_connection_tags failed: {type(err).__name__}"
        await websocket.close(CloseCode.POLICY, protocol.close_reason(reason))
        return False
    return True


async def _chat(agent: ChatAgent[Any], connection: Connection, frame: dict[str, Any]) -> None:
    try:
        await handle_chat_frame(agent, connection, frame)
    except AgentError as err:
        connection.send(protocol.error(err.message))
    except Exception as err:
        log.exception("chat frame failed", frame_type=frame.get("type"))
        connection.send(protocol.error(f"{frame.get('type')} failed: {type(err).__name__}"))


def _may_control(agent: Agent[Any], connection: Connection) -> bool:
    return connection.principal.can("control", agent.agent_type, agent.name)


async def _set_state(agent: Agent[Any], connection: Connection, frame: dict[str, Any]) -> None:
    if "state" not in frame:
        connection.send(protocol.state_error("cf_agent_state needs a 'state' field"))
        return
    try:
        # A full turn even without state hooks: it keeps this write in order with the
        # connection's other frames, which queue for the same turn.
        async with agent.turn():
            await agent.set_state(frame["state"], source=connection)
    except AgentError as err:
        connection.send(protocol.state_error(err.message))
        return
    except Exception as err:  # Redis gone, or a hook failed: say so, keep the connection
        log.warning("state change from a client failed", error=repr(err))
        connection.send(protocol.state_error(f"state change failed: {type(err).__name__}"))
        return
    connection.state_version = max(connection.state_version, agent.state_version)


async def _call(agent: Agent[Any], connection: Connection, frame: dict[str, Any]) -> None:
    call_id, method, args = frame.get("id"), frame.get("method"), frame.get("args", [])
    if not isinstance(method, str) or not isinstance(args, list):
        connection.send(protocol.rpc_error(call_id, "an rpc frame needs 'method' (string) and 'args' (list)"))
        return
    stream = StreamingResponse(connection, call_id, method)
    attributes = {"rpc.system": "agents", "rpc.method": method, **agent_attributes(agent.agent_type, agent.name)}
    try:
        with tracer.start_as_current_span(f"rpc {method}", kind=SpanKind.SERVER, attributes=attributes):
            result, streamed = await call_callable(agent, method, args, stream=stream)
    except Exception as err:
        message = err.message if isinstance(err, AgentError) else f"{type(err).__name__}: {err}"
        connection.send(protocol.rpc_error(call_id, message))
        return
    if streamed:
        try:
            stream.end()  # no-op if the method ended it itself
        except AgentError as err:
            connection.send(protocol.rpc_error(call_id, err.message))
    else:
        connection.send_json(protocol.rpc_result(call_id, result))  # checked by call_callable
