"""Request ids and HTTP metrics, as a plain ASGI middleware (WebSockets pass through)."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Awaitable
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agents.core.metrics import Metrics
from agents.http.asgi import header

log = structlog.get_logger("agents.http")
_std_log = logging.getLogger("agents.http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


class RequestContextMiddleware:
    """Binds `request_id` (from `X-Request-ID` or a new one) into every log line of the
    request, echoes it in the response, and records the request's route, status and time."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, agents_prefix: str = "/agents") -> None:
        self.app = app
        self.metrics = metrics
        self._agents_prefix = agents_prefix
        # The labelled series, by label values: `labels()` costs a lock and a tuple
        # build per call, a measurable share of a short request. Few keys (route templates).
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: a WebSocket passes through without a frame of this
        # middleware held in memory for the connection's lifetime.
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = header(scope, b"x-request-id")
        # Echoed in a header and every log line: only a plain token is taken as it is.
        request_id = given if given and _REQUEST_ID.match(given) else os.urandom(16).hex()  # as uuid4().hex, cheaper
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A new list: the app's own (a response's raw headers) is not ours to grow.
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = _route(scope, self._agents_prefix)
            elapsed = time.perf_counter() - started
            count, seconds = self._series_of(scope["method"], route, status)
            count.inc()
            seconds.observe(elapsed)
            # Checked first: a line below the level costs structlog a raised DropEvent.
            if _std_log.isEnabledFor(logging.INFO):
                log.info("request", method=scope["method"], route=route, status=status, ms=round(elapsed * 1000, 2))
            structlog.contextvars.reset_contextvars(**bound)

    def _series_of(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                self.metrics.http_requests.labels(method, route, str(status)),
                self.metrics.http_seconds.labels(method, route),
            )
        return series


def _route(scope: dict[str, Any], agents_prefix: str) -> str:
    """The route template (`/agents/{agent}/{name}/workflows`), never the raw path, so
    label values stay few. An agent route's own template starts at `/{agent}`: its
    router is included under the agents prefix, which FastAPI leaves out of it."""
    path = getattr(scope.get("route"), "path", None)
    if path is None:
        return "static" if scope.get("path", "/").count("/") <= 1 else "unmatched"
    return agents_prefix + path if path.startswith("/{agent}/") else path
