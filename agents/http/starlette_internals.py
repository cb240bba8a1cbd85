"""Every use the API makes of Starlette past its documented surface, in one place.

- `route_match`: `BaseRoute.matches(scope)` outside the router: whether an API route
  claims a path (authentication lets static files through only if none does; a custom
  route answers 405 on a framework route's path). Starlette's router calls it; it is
  public on the class but not documented for callers.
- `routed_scope`: the scope fields Starlette's router and app set (`app`, `path_params`),
  set by hand for agent WebSockets, which are served around the FastAPI app (what it
  saves: agents/ws/endpoint.AgentSockets).

Guarded by tests/test_library_guards.py; the import refuses an untested minor.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from workflows.versions import require_tested

require_tested("starlette", "1.10", relies_on="Route.matches() outside routing and the scope fields routing sets")


def route_match(route: BaseRoute, scope: Scope) -> Match:
    """How `route` matches the request in `scope` (NONE, PARTIAL: the path with another
    method, FULL)."""
    match, _ = route.matches(scope)
    return match


def routed_scope(scope: Scope, *, app: Any, path_params: dict[str, str]) -> Scope:
    """`scope` as Starlette's app and router leave it for an endpoint: handlers read
    `app.state` through it, and the path's parameters."""
    scope["app"] = app
    scope["path_params"] = path_params
    return scope
