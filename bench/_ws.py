"""A minimal WebSocket client for load generation: it parses the server's frames in the
transport's callback and hands each text message to `on_text` with its arrival time.
The `websockets` client costs a task wake-up, a timeout and a frame object per message
per client; with 1,000 clients sharing these two cores with the server, that was the
client measuring itself. Like `bench._http`, a load generator should cost next to
nothing, so the figure is the server's."""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable
from urllib.parse import urlsplit

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame (clients must mask what they send; payloads here are < 126 bytes)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


class WsClient(asyncio.Protocol):
    def __init__(self, host: str, path: str, on_text: Callable[[bytes, float], None]) -> None:
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self._on_text = on_text
        self._buffer = bytearray()
        self._upgraded = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    @classmethod
    async def connect(cls, url: str, on_text: Callable[[bytes, float], None]) -> WsClient:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        loop = asyncio.get_running_loop()
        _, client = await loop.create_connection(lambda: cls(parts.netloc, path, on_text), parts.hostname, parts.port)
        await asyncio.wait_for(client._upgraded, 30)
        return client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self._request)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self._buffer += data
        if not self._upgraded.done():
            head, sep, rest = bytes(self._buffer).partition(b"\r\n\r\n")
            if not sep:
                return
            if not head.startswith(b"HTTP/1.1 101"):
                self._upgraded.set_exception(ConnectionError(head.split(b"\r\n", 1)[0].decode()))
                return
            self._buffer = bytearray(rest)
            self._upgraded.set_result(None)
        self._frames(now)

    def _frames(self, now: float) -> None:
        buffer = self._buffer
        while len(buffer) >= 2:
            opcode, length, offset = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, offset = struct.unpack_from("!H", buffer, 2)[0], 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, offset = struct.unpack_from("!Q", buffer, 2)[0], 10
            if len(buffer) < offset + length:
                return
            payload = bytes(buffer[offset : offset + length])
            del buffer[: offset + length]
            if opcode == TEXT:
                self._on_text(payload, now)
            elif opcode == PING and self.transport is not None:
                self.transport.write(_client_frame(PONG, payload))
            elif opcode == CLOSE and self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._upgraded.done():
            self._upgraded.set_exception(exc or ConnectionError("closed before the upgrade"))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_client_frame(CLOSE, struct.pack("!H", 1000)))
            self.transport.close()
