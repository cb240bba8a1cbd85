"""The HTTP and WebSocket API: `uvicorn api:app --factory` (or `python api.py`).

Built in a factory; the lifespan owns the Redis and Temporal clients and the runtime.
Routes live in `agents.http` (SPEC section 5).
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
import uvicorn

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis

from agents import AgentRuntime, AppRegistry, Settings, connect_temporal, get_settings
from agents._metrics import Metrics
from agents.http import (
    Runtime,
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
from agents.logging import configure_logging
from agents.ws import ConnectionHub
from agents.ws import router as ws_router

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
            log.warning("authentication off: no API_KEYS or JWT_SECRET; allowed because the API listens on "
                        "loopback only", api_host=settings.api_host)  # fmt: skip
        redis = Redis.from_url(settings.redis_target, decode_responses=True)
        temporal = await connect_temporal(settings)
        registry = AppRegistry.from_modules(settings.module_list)
        application.state.runtime = AgentRuntime(
            redis=redis, registry=registry, settings=settings, temporal=temporal, metrics=metrics
        )
        hub = ConnectionHub(redis, control_channel=f"{settings.redis_key_prefix}hub",
                            metrics=metrics)  # fmt: skip
        await hub.start()
        application.state.hub = hub
        # Everything loaded so far lives as long as the process: move it out of the
        # collector's way, so full collections (tail latency with many clients) stay short.
        gc.freeze()
        try:
            yield
        finally:
            await hub.stop()
            await redis.aclose()

    application = FastAPI(
        title="Temporal Agents",
        summary="Start and steer durable agent workflows; agent state and RPC.",
        lifespan=lifespan,
    )
    install_error_handlers(application)
    # Added last runs first: request ids and metrics see every answer, auth refuses before
    # the body is read, and the body limit holds for every route that reads one.
    application.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    application.add_middleware(AuthMiddleware, authenticator=authenticator, public=_static_file_check(web))
    application.add_middleware(RequestContextMiddleware, metrics=metrics)
    application.include_router(workflows_router)
    application.include_router(state_router)
    application.include_router(standalone_router)
    application.include_router(events_router)
    application.include_router(schedules_router)
    application.include_router(ws_router)

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
    browser cannot send a bearer token when it loads a page)."""
    root = web.resolve() if web is not None else None

    def is_static(path: str) -> bool:
        if root is None:
            return False
        target = (root / path.lstrip("/")).resolve()
        if target == root:
            target = root / "index.html"
        return target.is_relative_to(root) and target.is_file()

    return is_static


def server_config(settings: Settings, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration of the API. The sans-I/O WebSocket implementation
    applies write backpressure, so a client that stops reading fills its bounded queue
    (and is cut off) instead of growing the server's transport buffer without bound."""
    options: dict[str, Any] = {
        "host": settings.api_host, "port": settings.api_port, "ws": "websockets-sansio",
        "ws_max_size": settings.ws_max_frame_bytes, "ws_per_message_deflate": settings.ws_compression,
        "log_config": None, "lifespan": "on", **overrides,
    }  # fmt: skip
    return uvicorn.Config(app(settings), **options)


def main() -> None:
    uvicorn.Server(server_config(get_settings())).run()
    # Shut down gracefully by now; skip interpreter finalization, during which the
    # Temporal SDK's native threads may call into Python and abort the process.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
