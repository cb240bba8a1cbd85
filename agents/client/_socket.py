"""`AgentClient`: an async Python client of an agent's WebSocket (the same protocol as
Cloudflare's `AgentClient`), with reconnect and state resync."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import random
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import ClientConnection

from agents.client._errors import AgentClientError
from agents.ws.protocol import CloseCode

StateCallback = Callable[[Any, str], Any]
MessageCallback = Callable[[dict[str, Any]], Any]


class _PendingCall:
    def __init__(self, on_chunk: Callable[[Any], Any] | None) -> None:
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.on_chunk = on_chunk


class AgentClient:
    """`async with AgentClient("http://127.0.0.1:8000", "task-agent", "alice") as c:`"""

    def __init__(
        self,
        base_url: str,
        agent: str,
        name: str,
        *,
        connection_id: str | None = None,
        query: dict[str, str] | None = None,
        token: str | None = None,
        on_state: StateCallback | None = None,
        reconnect: bool = True,
        backoff: tuple[float, float] = (0.1, 5.0),
        call_timeout: float = 30.0,
        prefix: str = "/agents",
    ) -> None:
        scheme = "wss" if base_url.startswith("https") else "ws"
        host = base_url.split("://", 1)[-1].rstrip("/")
        self.id = connection_id or uuid.uuid4().hex
        at = f"{prefix.rstrip('/')}/{agent}/{name}"  # `prefix`: the server's AGENTS_PREFIX
        self.url = f"{scheme}://{host}{at}?{urlencode({'_pk': self.id, **(query or {})})}"
        self.agent, self.name = agent, name
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.state: Any = None
        self._on_state = [on_state] if on_state else []
        self._subscribers: list[asyncio.Queue[dict[str, Any]]] = []
        self._listeners: list[MessageCallback] = []
        self._reconnect, self._backoff, self._call_timeout = reconnect, backoff, call_timeout
        self._ws: ClientConnection | None = None
        self._ready = asyncio.Event()
        self._pending: dict[str, _PendingCall] = {}
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.connects = 0
        """How many times the client (re)connected."""

    async def __aenter__(self) -> AgentClient:
        await self.connect()
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.close()

    async def connect(self, timeout: float = 10.0) -> None:
        """Connect (and keep reconnecting); return once identity and state arrived."""
        self._task = asyncio.create_task(self._run())
        await self.wait_ready(timeout)

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until connected and the agent's state has arrived."""
        waiter = asyncio.ensure_future(self._ready.wait())
        done, _ = await asyncio.wait({waiter, self._task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)  # type: ignore[arg-type]
        if self._ready.is_set():
            return
        waiter.cancel()
        if self._task in done and self._task.exception():
            raise AgentClientError(f"could not connect to {self.url}: {self._task.exception()}")
        if self.connects == 0:  # never got through: stop trying, the caller decides
            self._task.cancel()
        raise AgentClientError(f"no identity from {self.url} within {timeout}s")

    async def close(self) -> None:
        """Close the connection and stop reconnecting."""
        self._closing = True
        if self._ws:
            await self._ws.close()
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._fail_pending("client closed")

    def on_state(self, callback: StateCallback) -> None:
        """`callback(state, source)` on every state the client learns ("server" or "client")."""
        self._on_state.append(callback)

    def on_message(self, callback: MessageCallback) -> None:
        """`callback(message)` for every frame that is not the protocol's own."""
        self._listeners.append(callback)

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        """Iterate over every non-protocol message (broadcasts, workflow updates)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.remove(queue)

    async def set_state(self, state: Any) -> None:
        """Replace the agent's state (every other client hears it); returns once sent."""
        await self._send({"type": "cf_agent_state", "state": state})
        self._set_local_state(state, "client")

    async def call(
        self, method: str, *args: Any, timeout: float | None = None, on_chunk: Callable[[Any], Any] | None = None
    ) -> Any:
        """Call a `@callable_method`; chunks of a streaming method go to `on_chunk`."""
        call_id = uuid.uuid4().hex
        pending = self._pending[call_id] = _PendingCall(on_chunk)
        try:
            await self._send({"type": "rpc", "id": call_id, "method": method, "args": list(args)})
            return await asyncio.wait_for(pending.future, timeout or self._call_timeout)
        except TimeoutError:
            raise AgentClientError(f"call to {method} timed out") from None
        finally:
            self._pending.pop(call_id, None)

    async def chat(
        self, message: str | dict[str, Any], *, body: dict[str, Any] | None = None, timeout: float = 300.0
    ) -> AsyncIterator[dict[str, Any]]:
        """Send a message to a chat agent (text, or an AI SDK UI message) and yield the
        answer's chunks (AI SDK UI message-stream chunks: `text-delta`, `tool-*` ...) as
        they come. Ends with the turn, or when it waits for a tool approval (then
        `approve_tool`, and `resume_chat` for the rest). After a lost worker the answer's
        stream starts over: a second `start` chunk, then the whole answer again.
        AgentClientError when the agent refuses the message or the turn fails."""
        if isinstance(message, str):
            message = {"id": uuid.uuid4().hex, "role": "user", "parts": [{"type": "text", "text": message}]}
        request_id = uuid.uuid4().hex[:12]
        payload = {"messages": [message], "trigger": "submit-message", **(body or {})}
        async with self._chat_frames() as frames:
            frame = {
                "type": "cf_agent_use_chat_request",
                "id": request_id,
                "init": {"method": "POST", "body": json.dumps(payload)},
            }
            await self._send(frame)
            async for chunk in self._chat_stream(frames, request_id, timeout):
                yield chunk

    async def resume_chat(self, *, timeout: float = 300.0) -> AsyncIterator[dict[str, Any]]:
        """The chunks of the chat answer in progress, from its start (what was sent
        already, then live), as Cloudflare's `reconnectToStream`; nothing when idle. After
        an approval, this is how the rest of the answer comes."""
        async with self._chat_frames() as frames:
            async for chunk in self._resumed(frames, timeout):
                yield chunk

    async def approve_tool(self, tool_call_id: str, approved: bool = True) -> None:
        """Approve (or deny) a tool call the chat turn waits for; `resume_chat` for the rest."""
        await self._send({"type": "cf_agent_tool_approval", "toolCallId": tool_call_id, "approved": approved})

    @contextlib.asynccontextmanager
    async def _chat_frames(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.append(queue)
        try:
            yield queue
        finally:
            self._subscribers.remove(queue)

    async def _chat_stream(
        self, frames: asyncio.Queue[dict[str, Any]], request_id: str, timeout: float
    ) -> AsyncIterator[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while True:
                frame = await frames.get()
                if frame.get("type") != "cf_agent_use_chat_response" or frame.get("id") != request_id:
                    continue
                if frame.get("error"):
                    raise AgentClientError(str(frame.get("body") or "chat request failed"))
                if frame.get("body"):
                    yield json.loads(frame["body"])
                if frame.get("done"):
                    if frame.get("outcome") == "recovering":  # the turn goes on under another id
                        async for chunk in self._resumed(frames, timeout):
                            yield chunk
                    return

    async def _resumed(self, frames: asyncio.Queue[dict[str, Any]], timeout: float) -> AsyncIterator[dict[str, Any]]:
        probe = uuid.uuid4().hex[:8]
        await self._send({"type": "cf_agent_stream_resume_request", "probeId": probe})
        async with asyncio.timeout(timeout):
            while True:
                frame = await frames.get()
                if frame.get("probeId") != probe:
                    continue
                if frame.get("type") == "cf_agent_stream_resume_none":
                    return
                if frame.get("type") == "cf_agent_stream_resuming":
                    break
        await self._send({"type": "cf_agent_stream_resume_ack", "id": frame["id"]})
        async for chunk in self._chat_stream(frames, frame["id"], timeout):
            yield chunk

    async def _send(self, frame: dict[str, Any]) -> None:
        if not self._ready.is_set():
            await self.wait_ready()
        assert self._ws is not None
        await self._ws.send(json.dumps(frame))

    async def _run(self) -> None:
        delay = self._backoff[0]
        while not self._closing:
            try:
                async with websockets.connect(
                    self.url, open_timeout=10, max_size=None, additional_headers=self._headers
                ) as ws:
                    self._ws = ws
                    self.connects += 1
                    delay = self._backoff[0]
                    async for raw in ws:
                        self._dispatch(json.loads(raw))
            except asyncio.CancelledError:
                raise
            except websockets.exceptions.ConnectionClosed as err:
                if err.rcvd is not None and err.rcvd.code == CloseCode.POLICY:  # refused (auth, unknown agent): final
                    raise AgentClientError(f"the server refused the connection (1008): {err.rcvd.reason}") from err
                if not self._reconnect:
                    raise AgentClientError(str(err)) from err
            except (OSError, websockets.exceptions.WebSocketException) as err:
                if not self._reconnect:
                    raise AgentClientError(str(err)) from err
            finally:
                self._ready.clear()
                self._fail_pending("connection closed")
            if not self._reconnect or self._closing:
                return
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, self._backoff[1])

    def _dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "cf_agent_identity":
            if not frame.get("stateFollows"):
                self._ready.set()
        elif kind == "cf_agent_state":
            self._set_local_state(frame.get("state"), "server")
            self._ready.set()
        elif kind == "rpc":
            pending = self._pending.get(frame.get("id"))  # type: ignore[arg-type]
            if pending is None or pending.future.done():
                return
            if not frame.get("success"):
                pending.future.set_exception(AgentClientError(str(frame.get("error"))))
            elif frame.get("done", True):
                pending.future.set_result(frame.get("result"))
            elif pending.on_chunk:
                _fire(pending.on_chunk, frame.get("result"))
        elif kind != "cf_agent_mcp_servers":
            for queue in self._subscribers:
                queue.put_nowait(frame)
            for listener in self._listeners:
                _fire(listener, frame)

    def _set_local_state(self, state: Any, source: str) -> None:
        self.state = state
        for callback in self._on_state:
            _fire(callback, state, source)

    def _fail_pending(self, reason: str) -> None:
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(AgentClientError(reason))


def _fire(callback: Callable[..., Any], *args: Any) -> None:
    result = callback(*args)
    if inspect.isawaitable(result):
        asyncio.ensure_future(result)
