"""The HTTP (and later WebSocket) API: `uvicorn api:app --factory`.

Built in a factory; the lifespan owns the Redis and Temporal clients and the runtime.
Routes are completed by the "Agent control plane" issue (SPEC section 5).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from redis.asyncio import Redis

from agents import AgentError, AgentRuntime, AppRegistry, Settings, connect_temporal, get_settings
from agents.logging import configure_logging


def get_runtime(request: Request) -> AgentRuntime:
    return request.app.state.runtime


Runtime = Annotated[AgentRuntime, Depends(get_runtime)]


def app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        redis = Redis.from_url(settings.redis_target, decode_responses=True)
        temporal = await connect_temporal(settings)
        registry = AppRegistry.from_modules(settings.module_list)
        application.state.runtime = AgentRuntime(
            redis=redis, registry=registry, settings=settings, temporal=temporal
        )
        try:
            yield
        finally:
            await redis.aclose()

    application = FastAPI(title="Temporal Agents", lifespan=lifespan)

    @application.exception_handler(AgentError)
    async def agent_error(request: Request, exc: AgentError) -> JSONResponse:
        return JSONResponse(
            {"error": exc.code, "message": exc.message, **exc.details}, status_code=exc.status
        )

    @application.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @application.get("/readyz")
    async def readyz(rt: Runtime) -> JSONResponse:
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

    @application.get("/agents/{agent}/{name}/state")
    async def get_state(agent: str, name: str, rt: Runtime) -> dict[str, Any]:
        instance = await rt.load_agent(agent, name)
        return {"state": instance.state, "version": instance.state_version}

    return application
