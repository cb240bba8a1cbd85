"""`/agents/{agent}/{name}/state` (GET, PUT, PATCH) and `/rpc/{method}`."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter, Body
from pydantic_core import to_jsonable_python

from agents._agent import Agent, maybe_await
from agents.errors import NotFoundError

from .deps import AgentDep
from .schemas import RpcCall, RpcResult, StateOut

router = APIRouter(prefix="/agents/{agent}/{name}", tags=["agents"])

StateBody = Body(description="a JSON object", examples=[{"task_progress": 0.5}])


def _state(agent: Agent[Any]) -> StateOut:
    return StateOut(state=dict(agent.state), version=agent.state_version)


@router.get("/state", response_model=StateOut)
async def get_state(agent: AgentDep) -> StateOut:
    await agent.refresh_state()
    return _state(agent)


@router.put("/state", response_model=StateOut)
async def set_state(agent: AgentDep, state: dict[str, Any] = StateBody) -> StateOut:
    await agent.set_state(state)
    return _state(agent)


@router.patch("/state", response_model=StateOut)
async def merge_state(agent: AgentDep, partial: dict[str, Any] = StateBody) -> StateOut:
    """Shallow merge: top-level keys of the body replace the state's."""
    await agent.merge_state(partial)
    return _state(agent)


def callable_of(agent: Agent[Any], method: str) -> Any:
    """The bound method if `method` is marked `@callable_method`, else a clear 404."""
    fn = getattr(type(agent), method, None) if not method.startswith("_") else None
    if fn is None or not hasattr(fn, "__agent_callable__"):
        raise NotFoundError(f"{agent.agent_type} has no callable method {method!r}")
    return getattr(agent, method)


@router.post("/rpc/{method}", response_model=RpcResult)
async def call_method(agent: AgentDep, method: str, body: RpcCall | None = None) -> RpcResult:
    """Call a `@callable_method`; a streaming method's chunks come back as a list."""
    fn = callable_of(agent, method)
    await agent.refresh_state()
    result = fn(*(body or RpcCall()).args)
    if inspect.isasyncgen(result):
        result = [chunk async for chunk in result]
    return RpcResult(result=to_jsonable_python(await maybe_await(result)))
