"""The HTTP and WebSocket API: `python api.py` (uvicorn with the settings of
`server_config`). `uvicorn api:asgi --factory --interface asgi3` serves it too, with
uvicorn's own WebSocket protocol and options.

Built in a factory; the lifespan owns the Redis and Temporal clients and the runtime.
Routes live in `agents.http`.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import structlog
import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents import Settings, exit_process, get_settings, open_runtime
from agents.core.logging import configure_logging
from agents.core.metrics import Metrics
from agents.http import (
    Runtime,
    calls_router,
    chat_router,
    custom_router,
    events_router,
    install_error_handlers,
    schedules_router,
    standalone_router,
    state_router,
    workflows_router,
)
from agents.http.auth import AuthMiddleware, authenticator_for
from agents.http.limits import BodyLimitMiddleware
from agents.http.middleware import RequestContextMiddleware
from agents.ws import AgentSockets, ConnectionHub, LeanWebSocketProtocol

from .tracing import configure_tracing, instrument_app, shutdown_tracing

log = structlog.get_logger("agents.api")


def app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    metrics = Metrics()
    authenticator = authenticator_for(settings)
    web = _web_root(settings.web_root)

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        if authenticator.enabled:
            log.info("authentication on", api_keys=len(settings.api_keys), jwt=settings.jwt_secret is not None)
        else:
            log.warning(
                "authentication off: no API_KEYS or JWT_SECRET; allowed because the API listens on loopback only",
                api_host=settings.api_host,
            )
        interceptors = configure_tracing("temporal-agents-api")
        async with open_runtime(settings, metrics=metrics, temporal_interceptors=interceptors) as runtime:
            application.state.runtime = runtime
            hub = ConnectionHub(runtime.redis, control_channel=f"{settings.redis_key_prefix}hub", metrics=metrics)
            await hub.start()
            application.state.hub = hub
            runtime.local_connections = hub.connections  # an agent's get_connections
            # Everything loaded so far lives as long as the process: move it out of the
            # collector's way, so full collections (tail latency with many clients) stay
            # short; what startup left as garbage is collected first, so that clients
            # reuse its memory instead of growing the process.
            gc.collect()
            gc.freeze()
            try:
                yield
            finally:
                await hub.stop()

    application = FastAPI(
        title="Temporal Agents",
        summary="Start and steer durable agent workflows; agent state and RPC.",
        lifespan=lifespan,
    )
    install_error_handlers(application)
    instrument_app(application)
    # Added last runs first: request ids and metrics see every answer, auth refuses before
    # the body is read, and the body limit holds for every route that reads one. Agent
    # WebSocket connections never get this far: `asgi` routes them around the app.
    application.state.authenticator = authenticator
    application.state.agents_prefix = settings.agents_prefix
    application.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    application.add_middleware(
        AuthMiddleware,
        authenticator=authenticator,
        public=_static_file_check(web),
        agents_prefix=settings.agents_prefix,
    )
    application.add_middleware(RequestContextMiddleware, metrics=metrics, agents_prefix=settings.agents_prefix)
    if origins := settings.cors_origin_list:
        # Outermost: a preflight carries no token, so it is answered before auth; every
        # answer (errors too) carries the headers a page on those origins needs to read it.
        application.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials=settings.cors_credentials,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    agents_at = settings.agents_prefix  # `/agents` unless AGENTS_PREFIX says otherwise
    application.include_router(workflows_router, prefix=agents_at)
    application.include_router(state_router, prefix=agents_at)
    application.include_router(standalone_router)
    application.include_router(events_router, prefix=agents_at)
    application.include_router(schedules_router, prefix=agents_at)
    application.include_router(calls_router, prefix=agents_at)
    application.include_router(chat_router, prefix=agents_at)
    application.include_router(custom_router, prefix=agents_at)  # after every framework route: they take precedence

    @application.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up (no dependency checked)."""
        return {"status": "ok"}

    @application.get("/readyz", tags=["health"])
    async def readyz(rt: Runtime) -> JSONResponse:
        """Redis and Temporal are reachable; 503 says which is not."""
        checks: dict[str, str] = {}
        try:
            await rt.redis.ping()
            checks["redis"] = "ok"
        except Exception as err:  # any failure means not ready; say which
            checks["redis"] = f"unreachable: {err}"
        try:
            await rt.temporal.service_client.check_health(timeout=timedelta(seconds=2))
            checks["temporal"] = "ok"
        except Exception as err:
            checks["temporal"] = f"unreachable: {err}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    @application.get("/metrics", tags=["health"], response_class=PlainTextResponse)
    async def prometheus_metrics(rt: Runtime) -> PlainTextResponse:
        """Prometheus metrics of this API process."""
        return PlainTextResponse(generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    if web is not None:
        # Mounted last: every API route above takes precedence over a file name.
        application.mount("/", StaticFiles(directory=web, html=True), name="web")
    return application


def _web_root(spec: str) -> Path | None:
    """`package:folder` -> the folder inside that installed package."""
    if not spec:
        return None
    package, _, folder = spec.partition(":")
    module = importlib.import_module(package)
    return Path(module.__file__ or "").parent / folder


def _static_file_check(web: Path | None) -> Callable[[str], bool]:
    """Whether a path names one of the static files (public: no data in them, and a
    browser cannot send a bearer token when it loads a page). The files are listed once,
    at startup: a check per request is a set lookup, never a file-system call, and only a
    file's own plain path matches (never one that walks with `..`)."""
    public: set[str] = set()
    if web is not None:
        for file in web.rglob("*"):
            if file.is_file():
                path = "/" + file.relative_to(web).as_posix()
                public.add(path)
                if file.name == "index.html":  # served for its folder, as StaticFiles(html=True) does
                    public.add(path.removesuffix("index.html"))
    return public.__contains__


def asgi(settings: Settings | None = None) -> AgentSockets:
    """What uvicorn serves: the app, with agent WebSocket connections taken past it to
    their handler, authenticated as its middleware authenticates requests."""
    application = app(settings)
    authenticator = application.state.authenticator
    agents_at = application.state.agents_prefix
    return AgentSockets(
        application,
        agents_prefix=agents_at,
        guard=lambda sockets: AuthMiddleware(
            sockets, authenticator=authenticator, public=_nothing, agents_prefix=agents_at
        ),
    )


def _nothing(path: str) -> bool:
    return False  # no agent WebSocket path is public


def server_config(settings: Settings, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration of the API. The WebSocket protocol is uvicorn's sans-I/O
    one (lighter per connection: `LeanWebSocketProtocol`), which applies write
    backpressure, so a client that stops reading fills its bounded queue (and is cut
    off) instead of growing the server's transport buffer without bound."""
    options: dict[str, Any] = {
        "host": settings.api_host,
        "port": settings.api_port,
        "ws": LeanWebSocketProtocol,
        "interface": "asgi3",  # `asgi()`'s __call__ returns an awaitable; uvicorn would guess ASGI 2
        "ws_max_size": settings.ws_max_frame_bytes,
        "ws_per_message_deflate": settings.ws_compression,
        "log_config": None,
        "access_log": False,  # RequestContextMiddleware logs each request, with its id
        "lifespan": "on",
        **overrides,
    }
    return uvicorn.Config(asgi(settings), **options)


def run() -> NoReturn:
    """Serve until SIGTERM or SIGINT, then leave the process (exit 1 if it could not serve)."""
    server = uvicorn.Server(server_config(get_settings()))
    server.run()
    shutdown_tracing()
    exit_process(0 if server.started else 1)  # shut down gracefully by now


main = run


if __name__ == "__main__":
    main()
