"""One WebSocket client of an agent: a frame is written at once while the client has
nothing queued and its socket takes writes; otherwise it waits in a bounded outbound
queue drained by a writer task of its own, so a slow or dead client never holds up
delivery to the others."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from typing import Any

import structlog
from starlette.websockets import WebSocket

from agents._auth import ANONYMOUS, Principal
from agents._payloads import to_json_value
from agents._tasks import background

from .protocol import CloseCode, close_reason

log = structlog.get_logger("agents.ws")


class Connection:
    """What agent hooks receive: `id`, `query`, `principal`, `send(message)`, `close(code, reason)`."""

    def __init__(
        self,
        websocket: WebSocket,
        id: str,
        *,
        query: dict[str, str],
        max_queue: int,
        principal: Principal = ANONYMOUS,
        write_now: Callable[[str], bool] | None = None,
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
        self._max_queue = max_queue
        self._writer: asyncio.Task[None] | None = None
        self._writing = False
        self._write_now = write_now
        """Writes a text frame at once when the socket takes it (`direct_writer`); None: queue all."""
        self.state_version = 0
        self.closed = False

    def send(self, message: Any) -> None:
        """Queue a message (any JSON value) for this client; ValidationError (nothing
        sent) for one JSON cannot carry, NaN included, which browsers refuse to parse."""
        self.send_text(json.dumps(to_json_value(message, what="message"), separators=(",", ":")))

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
        elif len(self._outbound) >= self._max_queue:
            log.warning("slow websocket client dropped", connection=self.id)
            self.close_soon(CloseCode.TRY_AGAIN, "too slow: reconnect to resync")
            return
        self._outbound.append(text)
        self._wake_writer()

    def offer_broadcast(self, text: str, state_version: int | None) -> None:
        """A broadcast from the hub; a state snapshot older than what the client has is skipped."""
        if state_version is not None:
            if state_version <= self.state_version:
                return
            self.state_version = state_version
        self.send_text(text)

    def close_soon(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        background(self._close(code, reason))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if not self.closed:
            self.closed = True
            await self._close(code, reason)

    async def _close(self, code: int, reason: str) -> None:
        try:
            await self._ws.close(code, close_reason(reason))
        except Exception:  # already gone
            pass

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
                await self._ws.send_text(self._outbound.popleft())
        except Exception:  # the socket went away; the reader side cleans up
            self.closed = True
        finally:
            self._writer = None
            if not self._outbound:
                self._outbound = None  # idle again: nothing held
