"""Authentication and per-agent authorization for every HTTP and WebSocket route.

An ASGI middleware rather than per-route dependencies so that it fails closed: a route
added later is protected without anyone remembering to. What a path needs is read from
the path itself (our URL space is small and fixed):

- `/agents/{agent}/{name}...`: `read` for GET/HEAD and WebSocket connects, `control` else;
- `/workflows/...` (runs of no agent): the same access on `*/*`;
- `/metrics`: `read` on `*/*` (counts of every agent's traffic: an operator's view);
- `/healthz` and the static demo files: nothing (they hold no data). A path is a static
  file only if no API route matches it and it names the file plainly (no `.`/`..`
  segments): anything else is decided as an API path, so the check fails closed;
- anything else (`/readyz`, `/docs`, `/openapi.json`): any valid token.

The caller's Principal is left in the ASGI scope's state (`request.state.principal`,
`websocket.state.principal`) for routes and agent hooks.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import structlog
from starlette.datastructures import QueryParams
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from agents.core.auth import Access, Authenticator, Principal
from agents.core.errors import AgentError
from agents.core.settings import Settings
from agents.http.asgi import header, send_error
from agents.http.starlette_internals import route_match
from agents.ws.protocol import CloseCode, close_reason

log = structlog.get_logger("agents.auth")

_READ_METHODS = frozenset({"GET", "HEAD"})


class AuthMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        public: Callable[[str], bool],
        agents_prefix: str = "/agents",
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.public = public
        # An agent's paths, whose access is checked against the token's scopes for that
        # agent: built from the same prefix the routes are mounted at.
        self._agent_path = re.compile(rf"^{re.escape(agents_prefix)}/(?P<agent>[^/]+)/(?P<name>[^/]+)(?:/.*)?$")

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: an accepted connection goes on without a frame of this
        # middleware held in memory for its lifetime (see AgentSockets).
        if scope["type"] not in ("http", "websocket"):
            return self.app(scope, receive, send)
        websocket = scope["type"] == "websocket"
        try:
            principal = self._authorize(scope, websocket)
        except AgentError as err:
            log.warning("auth refused", path=scope["path"], status=err.status, reason=err.message)
            if websocket:
                return _close_socket(receive, send, err.message)
            challenge = [(b"www-authenticate", b'Bearer realm="agents"')] if err.status == 401 else []
            return send_error(send, err, challenge)
        scope.setdefault("state", {})["principal"] = principal
        return self.app(scope, receive, send)

    def _authorize(self, scope: Scope, websocket: bool) -> Principal | None:
        path: str = scope["path"]
        # A static file's path is public unless an API route claims it too (checked second:
        # it walks the routes, and only the few static paths get that far).
        if path == "/healthz" or (not websocket and self.public(path) and not _claimed_by_route(scope)):
            return None
        principal = self.authenticator.authenticate(_token(scope, websocket))
        access: Access = "read" if websocket or scope.get("method") in _READ_METHODS else "control"
        if match := self._agent_path.match(path):
            principal.require(access, match["agent"], match["name"])
        elif path == "/workflows" or path.startswith("/workflows/"):
            principal.require(access, None, None)
        elif path == "/metrics":
            principal.require("read", None, None)
        return principal


def _claimed_by_route(scope: Scope) -> bool:
    """Whether an API route (anything but the static mount) matches the request's path."""
    app = scope.get("app")
    for route in getattr(getattr(app, "router", None), "routes", ()):
        if isinstance(route, Mount):
            continue
        if route_match(route, scope) is not Match.NONE:
            return True
    return False


def _token(scope: Scope, websocket: bool) -> str | None:
    authorization = header(scope, b"authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None
    if websocket:  # browsers cannot set headers on a WebSocket
        return QueryParams(scope.get("query_string", b"")).get("token")
    return None


async def _close_socket(receive: Receive, send: Send, reason: str) -> None:
    """Accept, then close with 1008: a handshake refused with an HTTP status reaches a
    browser's WebSocket only as 1006 with no reason, a close frame carries both."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": CloseCode.POLICY, "reason": close_reason(reason)})


def authenticator_for(settings: Settings) -> Authenticator:
    """The Authenticator of these settings; refuses to run open on a non-loopback bind."""
    if not settings.auth_configured and not settings.loopback_bind:
        raise RuntimeError(
            f"API_HOST={settings.api_host} is reachable from other machines but no authentication is "
            "configured: set API_KEYS or JWT_SECRET, or bind API_HOST=127.0.0.1"
        )
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    return Authenticator(
        api_keys=settings.api_keys,
        jwt_secret=secret,
        jwt_audience=settings.jwt_audience,
        jwt_issuer=settings.jwt_issuer,
    )
