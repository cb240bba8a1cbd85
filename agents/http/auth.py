"""Authentication and per-agent authorization for every HTTP and WebSocket route.

An ASGI middleware rather than per-route dependencies so that it fails closed: a route
added later is protected without anyone remembering to. What a path needs is read from
the path itself (our URL space is small and fixed):

- `/agents/{agent}/{name}...`: `read` for GET/HEAD and WebSocket connects, `control` else;
- `/workflows/...` (runs of no agent): the same access on `*/*`;
- `/healthz` and the static demo files: nothing (they hold no data);
- anything else (`/readyz`, `/metrics`, `/docs`, `/openapi.json`): any valid token.

The caller's Principal is left in the ASGI scope's state (`request.state.principal`,
`websocket.state.principal`) for routes and agent hooks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from agents._auth import Access, Authenticator, Principal
from agents.errors import AgentError
from agents.settings import Settings
from agents.ws.protocol import close_reason

from .asgi import send_error

log = structlog.get_logger("agents.auth")

_AGENT_PATH = re.compile(r"^/agents/(?P<agent>[^/]+)/(?P<name>[^/]+)(?:/.*)?$")
_READ_METHODS = frozenset({"GET", "HEAD"})


class AuthMiddleware:
    def __init__(self, app: ASGIApp, *, authenticator: Authenticator, public: Callable[[str], bool]) -> None:
        self.app = app
        self.authenticator = authenticator
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        websocket = scope["type"] == "websocket"
        try:
            principal = self._authorize(scope, websocket)
        except AgentError as err:
            log.warning("auth refused", path=scope["path"], status=err.status, reason=err.message)
            if websocket:
                await _close_socket(receive, send, err.message)
            else:
                challenge = [(b"www-authenticate", b'Bearer realm="agents"')] if err.status == 401 else []
                await send_error(send, err, challenge)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    def _authorize(self, scope: Scope, websocket: bool) -> Principal | None:
        path: str = scope["path"]
        if path == "/healthz" or (not websocket and self.public(path)):
            return None
        principal = self.authenticator.authenticate(_token(scope, websocket))
        access: Access = "read" if websocket or scope.get("method") in _READ_METHODS else "control"
        if match := _AGENT_PATH.match(path):
            principal.require(access, match["agent"], match["name"])
        elif path == "/workflows" or path.startswith("/workflows/"):
            principal.require(access, None, None)
        return principal


def _token(scope: Scope, websocket: bool) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    if websocket:  # browsers cannot set headers on a WebSocket
        tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
        return tokens[0] if tokens else None
    return None


async def _close_socket(receive: Receive, send: Send, reason: str) -> None:
    """Accept, then close with 1008: a handshake refused with an HTTP status reaches a
    browser's WebSocket only as 1006 with no reason, a close frame carries both."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 1008, "reason": close_reason(reason)})


def authenticator_for(settings: Settings) -> Authenticator:
    """The Authenticator of these settings; refuses to run open on a non-loopback bind."""
    if not settings.auth_configured and not settings.loopback_bind:
        raise RuntimeError(
            f"API_HOST={settings.api_host} is reachable from other machines but no authentication is "
            "configured: set API_KEYS or JWT_SECRET, or bind API_HOST=127.0.0.1"
        )
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    return Authenticator(api_keys=settings.api_keys, jwt_secret=secret, jwt_audience=settings.jwt_audience,
                         jwt_issuer=settings.jwt_issuer)  # fmt: skip
