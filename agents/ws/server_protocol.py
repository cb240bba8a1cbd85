"""uvicorn's sans-I/O WebSocket protocol, lighter per connection.

An idle WebSocket connection costs the API process what its objects cost, for hours. In
uvicorn's protocol, an `asyncio.Queue` (three deques and an event) carries the frames to
the one task that reads them, and an `asyncio.Event` says whether the socket is
writable: five deques of about 600 bytes each, for what a few lists do as well. Given
to uvicorn as its `ws` protocol class (`api.server_config`), a supported way to choose
the implementation; the behaviour (backpressure included) is uvicorn's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

from workflows.versions import require_tested

require_tested("uvicorn", "0.55", relies_on="websockets_sansio_impl's protocol class, its state and its frame writes")


def _wake_one(waiters: list[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
            return


async def _park(waiters: list[asyncio.Future[None]]) -> None:
    waiter = asyncio.get_running_loop().create_future()
    waiters.append(waiter)
    try:
        await waiter
    finally:
        waiters.remove(waiter)


class _Inbox:
    """`put_nowait`, `get` and `empty` of `asyncio.Queue` (unbounded), in two lists: an
    empty deque is 600 bytes, an empty list 56."""

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._getters: list[asyncio.Future[None]] = []

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        _wake_one(self._getters)

    async def get(self) -> Any:
        try:
            while not self._items:
                await _park(self._getters)
        except asyncio.CancelledError:
            if self._items:  # woken and cancelled at once: the item is someone else's
                _wake_one(self._getters)
            raise
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items


class _Flag:
    """`set`, `clear`, `is_set` and `wait` of `asyncio.Event`, in one list."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True  # uvicorn's starts set (writable)
        self._waiters: list[asyncio.Future[None]] = []

    def set(self) -> None:
        self._set = True
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set

    async def wait(self) -> None:
        while not self._set:
            await _park(self._waiters)


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Flag()  # type: ignore[assignment]

    def send_text_now(self, text: str) -> bool:
        """Write a text frame at once, without a task: what uvicorn's `send` does for
        `websocket.send`, when nothing stands in the way (the handshake is done, nothing
        is closed or closing, the socket takes writes). False: the caller goes through
        `send`, which waits for what this does not (backpressure). A broadcast to 5,000
        clients of one process started 5,000 writer tasks for one frame each."""
        if (
            not self.writable.is_set()
            or self.disconnected
            or not self.handshake_complete
            or self.close_sent
            or self.initial_response is not None
            or self.transport.is_closing()
        ):
            return False
        try:
            self.conn.send_text(text.encode())
        except InvalidState:
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True


def client_gone(send: Any) -> Callable[[], bool]:
    """Whether the client behind an ASGI `send` has gone (its socket closed or closing),
    known without reading from it; always False when uvicorn runs another protocol."""
    protocol = getattr(send, "__self__", None)
    if not isinstance(protocol, LeanWebSocketProtocol):
        return lambda: False
    return lambda: protocol.disconnected or protocol.transport.is_closing()


def aborter(send: Any) -> Callable[[], None] | None:
    """Drops the TCP connection behind an ASGI `send` at once (for a client cut off whose
    socket takes not even a close frame); None when uvicorn runs another protocol."""
    protocol = getattr(send, "__self__", None)
    return protocol.transport.abort if isinstance(protocol, LeanWebSocketProtocol) else None


def direct_writer(send: Any) -> Callable[[str], bool] | None:
    """The task-free text write of the protocol behind an ASGI `send`, when uvicorn runs
    ours (`api.server_config`): uvicorn hands the app its protocol's bound `send`."""
    protocol = getattr(send, "__self__", None)
    return protocol.send_text_now if isinstance(protocol, LeanWebSocketProtocol) else None
