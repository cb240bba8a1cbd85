"""A minimal keep-alive HTTP/1.1 client for load generation. httpx spends about 2 ms of
CPU per request, on the same two cores as the server under test; a load generator
should cost next to nothing (as wrk or oha would), so the figure is the server's."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, base_url: str) -> None:
        self._reader, self._writer, self._base = reader, writer, base_url
        self._host = urlsplit(base_url).netloc

    @classmethod
    async def open(cls, base_url: str) -> Connection:
        url = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        return cls(reader, writer, base_url)

    async def post_json(self, path: str, body: Any) -> tuple[int, bytes]:
        try:
            return await self._post_json(path, body)
        except (ConnectionError, IndexError, asyncio.IncompleteReadError):
            # The server closed the idle keep-alive connection (uvicorn does after 5 s): reopen, resend once.
            self._writer.close()
            url = urlsplit(self._base)
            self._reader, self._writer = await asyncio.open_connection(url.hostname, url.port)
            return await self._post_json(path, body)

    async def _post_json(self, path: str, body: Any) -> tuple[int, bytes]:
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode()
        self._writer.write(head + payload)
        status_line = await self._reader.readline()
        length = 0
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return int(status_line.split()[1]), await self._reader.readexactly(length)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()
