"""The request body limit (413), enforced before a route reads a byte of it."""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agents.core.errors import AgentError, TooLargeError
from agents.http.asgi import header, send_error


class BodyLimitMiddleware:
    """Refuses bodies over `max_bytes`: at once from `Content-Length`, or, for a chunked
    body with no length, after reading at most `max_bytes` of it (then replaying it)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http":  # passed through without a frame of ours
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = _content_length(scope)
        if length is not None:
            if length > self.max_bytes:
                await send_error(send, self._too_large())
                return
            await self.app(scope, receive, send)
            return
        # No length given: buffer (within the limit) so the route still sees a whole body.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await send_error(send, self._too_large())
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> AgentError:
        return TooLargeError(f"the request body is over the limit of {self.max_bytes} bytes (MAX_BODY_BYTES)")


def _content_length(scope: Scope) -> int | None:
    value = header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # the server rejects a malformed length; count the body instead
