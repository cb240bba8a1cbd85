"""`StreamingResponse`: what a `@callable_method(streaming=True)` method receives first,
to send chunks before its final result (Cloudflare's shape)."""

from __future__ import annotations

from typing import Any

from agents.actor.rpc import rpc_json
from agents.ws import protocol
from agents.ws.connection import Connection


class StreamingResponse:
    def __init__(self, connection: Connection, call_id: Any, method: str) -> None:
        self._connection = connection
        self._id = call_id
        self._method = method
        self.ended = False

    def send(self, chunk: Any) -> None:
        """A chunk: the client's `onChunk`. ResultNotJsonError for a chunk JSON cannot carry;
        ConnectionError once the client has gone, so the method stops and frees the
        agent's turn instead of streaming to nobody."""
        if self.ended:
            raise RuntimeError("the stream has ended")
        if self._connection.closed:
            raise ConnectionError("the client of this stream has gone")
        chunk = rpc_json(self._method, chunk, what="chunk")
        self._connection.send_json(protocol.rpc_result(self._id, chunk, done=False))

    def end(self, final: Any = None) -> None:
        """The final value: the client's `onDone` and the call's result."""
        if not self.ended:
            final = rpc_json(self._method, final)
            self.ended = True
            self._connection.send_json(protocol.rpc_result(self._id, final, done=True))
