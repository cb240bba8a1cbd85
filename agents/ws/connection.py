"""One WebSocket client of an agent: a frame is written at once while the client has
nothing queued and its socket takes writes; otherwise it waits in a bounded outbound
queue drained by a writer task of its own, so a slow or dead client never holds up
delivery to the others."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from agents.core.auth import ANONYMOUS, Principal
from agents.core.errors import ValidationError
from agents.core.payloads import to_json_value
from agents.core.tasks import background
from agents.ws.protocol import CloseCode, close_reason

log = structlog.get_logger("agents.ws")

_CLOSE_GRACE = 2.0
"""Seconds a cut-off client's close frame may wait for its socket before the connection is dropped."""


@dataclass(frozen=True, slots=True)
class ConnectionContext:
    """Cloudflare's `ConnectionContext`: what a client connected with (`get_connection_tags`)."""

    request: HTTPConnection
    """The socket's opening request: headers, URL, query."""


MAX_TAGS = 9
"""Tags an agent may give one connection (Cloudflare's limit; its id is a tag besides)."""


class Connection:
    """What agent hooks receive: `id`, `query`, `principal`, `tags`, `state` /
    `set_state(state)`, `send(message)`, `close(code, reason)`."""

    def __init__(
        self,
        websocket: WebSocket,
        id: str,
        *,
        query: dict[str, str],
        max_queue: int,
        max_queue_bytes: int = 4 * 1024 * 1024,
        principal: Principal = ANONYMOUS,
        write_now: Callable[[str], bool] | None = None,
        abort: Callable[[], None] | None = None,
    ) -> None:
        self.id = id
        self.query = query
        self.principal = principal
        """Who authenticated (ANONYMOUS when authentication is off)."""
        self._ws = websocket
        # A queue and a writer task only while there is something to write: most clients
        # are idle most of the time, and a standing task and asyncio.Queue per connection
        # were a fifth of what one cost in memory.
        self._outbound: deque[str] | None = None
        self._queued = 0
        """Characters in `_outbound`."""
        self._max_queue = max_queue
        self._max_queue_bytes = max_queue_bytes
        self._abort = abort
        """Drops the TCP connection at once (`server_protocol.aborter`); None: not known."""
        self._writer: asyncio.Task[None] | None = None
        self._writing = False
        self._write_now = write_now
        """Writes a text frame at once when the socket takes it (`direct_writer`); None: queue all."""
        self.tags: tuple[str, ...] = (id,)
        """Its id, then the tags `Agent.get_connection_tags` gave it as it connected."""
        self._state: Any = None
        self.state_version = 0
        self.closed = False
        self._held: tuple[str, list[tuple[int, str]]] | None = None
        """A chat stream this client is resuming: its live frames wait here until the replay is sent."""
        self._replayed: tuple[str, int] | None = None
        """A chat stream replayed up to a sequence number: live frames up to it are not sent again."""

    @property
    def state(self) -> Any:
        """This connection's own state (Cloudflare's `connection.state`): None until
        `set_state`; kept in this process for as long as the connection lives, never
        sent to the client, gone when it closes."""
        return self._state

    def set_state(self, state: Any) -> Any:
        """Replace the connection's state (any JSON value; a callable gets the current
        one and returns the new, as Cloudflare's `setState(prev => ...)`); returns it."""
        value = state(self._state) if callable(state) else state
        self._state = to_json_value(value, what="connection state")
        return self._state

    def set_tags(self, tags: Any) -> None:
        """The tags an agent gave this connection, checked (at most MAX_TAGS non-empty
        strings of up to 256 characters); its id stays the first."""
        if not isinstance(tags, list | tuple) or not all(isinstance(t, str) and 0 < len(t) <= 256 for t in tags):
            raise ValidationError("connection tags are a list of non-empty strings of up to 256 characters")
        if len(tags) > MAX_TAGS:
            raise ValidationError(f"at most {MAX_TAGS} tags per connection (its id is one more), not {len(tags)}")
        self.tags = (self.id, *dict.fromkeys(t for t in tags if t != self.id))

    def send(self, message: Any) -> None:
        """Queue a message (any JSON value) for this client; ValidationError (nothing
        sent) for one JSON cannot carry, NaN included, which browsers refuse to parse."""
        self.send_json(to_json_value(message, what="message"))

    def send_json(self, data: Any) -> None:
        """Queue `data` already known to be JSON (converted and checked, as RPC results are)."""
        self.send_text(json.dumps(data, separators=(",", ":")))

    def send_text(self, text: str) -> None:
        if self.closed:
            return
        if self._outbound is None and self._writing and self._write_now is not None:
            # Nothing queued ahead of it: written at once when the socket takes it.
            try:
                if self._write_now(text):
                    return
            except Exception:  # the socket went away; the reader side cleans up
                self.closed = True
                return
        if self._outbound is None:
            self._outbound = deque()
        elif len(self._outbound) >= self._max_queue or self._queued + len(text) > self._max_queue_bytes:
            log.warning("slow websocket client dropped", connection=self.id, queued=self._queued)
            self._cut_off()
            return
        self._outbound.append(text)
        self._queued += len(text)
        self._wake_writer()

    def _cut_off(self) -> None:
        """A client too slow to keep up: what was queued for it is dropped now (not when
        its socket finally times out), it is told to reconnect, and its connection is
        dropped soon after: it reads nothing, so it would not answer the close either."""
        self._outbound, self._queued = None, 0
        if self._writer is not None:
            self._writer.cancel()
        if not self.closed:
            self.closed = True
            background(self._close(CloseCode.TRY_AGAIN, "too slow: reconnect to resync", drop_after=_CLOSE_GRACE))

    def offer_broadcast(self, text: str, state_version: int | None, chat: Any = None) -> None:
        """A broadcast from the hub; a state snapshot older than what the client has is
        skipped, and so is a chat frame it is being (or was) sent in a replay."""
        if chat is not None and not self._chat_frame_due(chat[0], chat[1], text):
            return
        if state_version is not None:
            if state_version <= self.state_version:
                return
            self.state_version = state_version
        self.send_text(text)

    def hold_stream(self, request_id: str) -> None:
        """Resuming the chat stream `request_id`: its live frames wait until `release_stream`."""
        self._held = (request_id, [])

    def release_stream(self, request_id: str, replayed_to: int) -> None:
        """The stream was replayed up to `replayed_to` (its seq): the held frames after it
        go out now, and later live ones as they come."""
        held, self._held = self._held, None
        self._replayed = (request_id, replayed_to)
        if held is not None and held[0] == request_id:
            for seq, text in held[1]:
                if seq > replayed_to:
                    self.send_text(text)

    def _chat_frame_due(self, request_id: str, seq: int, text: str) -> bool:
        if self._held is not None and self._held[0] == request_id:
            self._held[1].append((seq, text))
            return False
        return not (self._replayed is not None and self._replayed[0] == request_id and seq <= self._replayed[1])

    def close_soon(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        background(self._close(code, reason))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if not self.closed:
            self.closed = True
            await self._close(code, reason)

    async def _close(self, code: int, reason: str, *, drop_after: float | None = None) -> None:
        """Close with `code`; with `drop_after`, the TCP connection is dropped that many
        seconds on whether or not the client answered the close (it reads nothing)."""
        try:
            await asyncio.wait_for(self._ws.close(code, close_reason(reason)), drop_after)
        except Exception:  # already gone, or its socket took not even the close frame
            pass
        if drop_after is not None and self._abort is not None:
            await asyncio.sleep(drop_after)
            self._abort()

    async def send_now(self, message: Any) -> None:
        """Write directly, bypassing the queue (the connect handshake only)."""
        await self._ws.send_text(json.dumps(message, separators=(",", ":")))

    def start_writing(self) -> None:
        """After the connect handshake: what was queued meanwhile goes out, in order."""
        self._writing = True
        self._wake_writer()

    def stop_writing(self) -> None:
        self._writing = False
        if self._writer is not None:
            self._writer.cancel()

    def _wake_writer(self) -> None:
        if self._writing and self._writer is None and self._outbound:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        try:
            while self._outbound and not self.closed:
                text = self._outbound.popleft()
                self._queued -= len(text)
                await self._ws.send_text(text)
        except Exception:  # the socket went away; the reader side cleans up
            self.closed = True
        finally:
            self._writer = None
            if not self._outbound:
                self._outbound = None  # idle again: nothing held
