"""Every error is JSON `{"error": code, "message": ...}` with the right status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core import to_jsonable_python
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException
from temporalio.service import RPCError, RPCStatusCode

from agents.errors import AgentError

_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid"}  # fmt: skip


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AgentError)
    async def agent_error(request: Request, exc: AgentError) -> JSONResponse:
        return JSONResponse({"error": exc.code, "message": exc.message, **exc.details}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = to_jsonable_python(exc.errors(), fallback=str)
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse(
            {"error": "invalid", "message": f"{where}: {first.get('msg', 'invalid request')}", "errors": errors},
            status_code=422,
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": _CODES.get(exc.status_code, "error"), "message": str(exc.detail)},
                            status_code=exc.status_code, headers=exc.headers)  # fmt: skip

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    async def redis_down(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "unavailable", "message": "Redis is unreachable; try again shortly"},
                            status_code=503, headers={"Retry-After": "1"})  # fmt: skip

    @app.exception_handler(RPCError)
    async def temporal_error(request: Request, exc: RPCError) -> JSONResponse:
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            return JSONResponse({"error": "unavailable", "message": "Temporal is unreachable; try again shortly"},
                                status_code=503, headers={"Retry-After": "1"})  # fmt: skip
        return JSONResponse({"error": "temporal_error", "message": exc.message}, status_code=502)
