"""`StreamingResponse`: what a `@callable_method(streaming=True)` method receives first,
to send chunks before its final result (Cloudflare's shape)."""

from __future__ import annotations

from typing import Any

from . import protocol
from .connection import Connection


class StreamingResponse:
    def __init__(self, connection: Connection, call_id: Any) -> None:
        self._connection = connection
        self._id = call_id
        self.ended = False

    def send(self, chunk: Any) -> None:
        """A chunk: the client's `onChunk`."""
        if self.ended:
            raise RuntimeError("the stream has ended")
        self._connection.send(protocol.rpc_result(self._id, chunk, done=False))

    def end(self, final: Any = None) -> None:
        """The final value: the client's `onDone` and the call's result."""
        if not self.ended:
            self.ended = True
            self._connection.send(protocol.rpc_result(self._id, final, done=True))
