"""Every error is JSON `{"error": code, "message": ...}` with the right status."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core import to_jsonable_python
from redis.exceptions import ClusterError, RedisClusterException, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException
from temporalio.service import RPCError

from agents.control.deadlines import temporal_unreachable
from agents.core.errors import AgentError

_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
}


class ErrorResponse(JSONResponse):
    """An error may echo the client's input (field errors do), which may hold what no
    response can carry as it is: a lone surrogate (valid JSON text, not valid Unicode)
    is sent escaped, and Infinity/NaN (not JSON) as the strings "Infinity"/"NaN"."""

    def render(self, content: Any) -> bytes:
        return json.dumps(_finite(content), ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


class AnsweredBeforeRouting(Exception):  # noqa: N818 (not an error: an answer)
    """An agent type's `on_before_request` answered the request itself."""

    def __init__(self, response: Response) -> None:
        if not isinstance(response, Response):
            raise TypeError(f"on_before_request returns a Starlette Response or None, not {type(response).__name__}")
        super().__init__(response.status_code)
        self.response = response


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AnsweredBeforeRouting)
    async def answered(request: Request, exc: AnsweredBeforeRouting) -> Response:
        return exc.response

    @app.exception_handler(AgentError)
    async def agent_error(request: Request, exc: AgentError) -> ErrorResponse:
        return ErrorResponse({"error": exc.code, "message": exc.message, **exc.details}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> ErrorResponse:
        # Not the input itself: it is the client's to begin with, and echoing it back
        # would carry whatever it holds (nesting too deep to serialize, for one).
        errors = [{key: error.get(key) for key in ("type", "loc", "msg")} for error in exc.errors()]
        errors = to_jsonable_python(errors, fallback=str)
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}"
        content_type = request.headers.get("content-type", "")
        if first.get("loc") == ["body"] and "json" not in content_type:
            # `curl -d '{...}'` sends a form, and a bare body has no type: FastAPI reads
            # neither as JSON (on purpose: a page in a browser can send both cross-site
            # without asking, and a loopback API without keys would take them).
            came = content_type.split(";")[0] or "no content-type"
            message = (
                f"body: send it as JSON with the header content-type: application/json "
                f"(it came with {came}; curl: -H 'content-type: application/json')"
            )
        return ErrorResponse({"error": "invalid", "message": message, "errors": errors}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> ErrorResponse:
        return ErrorResponse(
            {"error": _CODES.get(exc.status_code, "error"), "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    # A cluster with a slot uncovered or mid-failover (CLUSTERDOWN, TRYAGAIN, no node for
    # the slot): the same for a caller, the agent's shard is briefly away.
    @app.exception_handler(ClusterError)
    @app.exception_handler(RedisClusterException)
    @app.exception_handler(TryAgainError)
    async def redis_down(request: Request, exc: Exception) -> ErrorResponse:
        return ErrorResponse(
            {"error": "unavailable", "message": "Redis is unreachable; try again shortly"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> ErrorResponse:
        # Starlette still re-raises it afterwards, so the server logs the traceback.
        return ErrorResponse(
            {"error": "internal", "message": f"internal error ({type(exc).__name__}); the API's log has the details"},
            status_code=500,
        )

    @app.exception_handler(RPCError)
    async def temporal_error(request: Request, exc: RPCError) -> ErrorResponse:
        if temporal_unreachable(exc):
            return ErrorResponse(
                {"error": "unavailable", "message": "Temporal is unreachable; try again shortly"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
        return ErrorResponse({"error": "temporal_error", "message": exc.message}, status_code=502)
