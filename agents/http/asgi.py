"""Answers written straight to ASGI, for middlewares that refuse a request before any
route runs. Same JSON shape as every other error: `{"error": code, "message": ...}`."""

from __future__ import annotations

import json

from starlette.types import Scope, Send

from agents.core.errors import AgentError


async def send_error(send: Send, err: AgentError, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": err.code, "message": err.message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": err.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> str | None:
    """One request header's value (`name` lower-case, as ASGI gives names), or None: a
    scan of the raw list, without building a `Headers` for each middleware that asks."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None
