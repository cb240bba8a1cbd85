"""`/agents/{agent}/{name}/{path}`, any method: an agent's own HTTP endpoints (webhooks,
custom APIs), answered by its `on_request` in its turn. Mounted after every framework
route, so those always take precedence; authentication and scopes apply as for the
others (read for GET/HEAD, control otherwise), then the agent's `authorize_request`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response
from starlette.routing import Match

from agents.actor.agent import enter
from agents.http.deps import AgentDep
from agents.http.starlette_internals import route_match

router = APIRouter()

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("/{agent}/{name}/{path:path}", methods=_METHODS, include_in_schema=False)
async def agent_request(agent: AgentDep, request: Request, path: str) -> Any:
    if _framework_path(request):  # a framework route's path with another method
        raise HTTPException(405, f"{request.method} is not allowed on {request.url.path}")
    response = await enter(agent, agent.on_request, request)
    if not isinstance(response, Response):  # the agent's bug, not the caller's: a 500 and a traceback
        raise TypeError(f"{agent.agent_type}.on_request must return a Response, not {type(response).__name__}")
    return response


def _framework_path(request: Request) -> bool:
    for route in request.app.router.routes:
        if getattr(route, "endpoint", None) is not agent_request and route_match(route, request.scope) is Match.PARTIAL:
            return True
    return False
