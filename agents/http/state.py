"""`/agents/{agent}/{name}/state` (GET, PUT, PATCH) and `/rpc/{method}`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from agents.actor.agent import Agent
from agents.actor.rpc import call_callable, rpc_json
from agents.http.deps import AgentDep
from agents.http.schemas import RpcCall, RpcResult, StateOut

router = APIRouter(prefix="/{agent}/{name}", tags=["agents"])

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


class _CollectedStream:
    """Over HTTP a streaming method's chunks are collected: the result is the list of
    chunks, then the final value if `end` gave one."""

    def __init__(self, method: str) -> None:
        self.chunks: list[Any] = []
        self._method = method

    def send(self, chunk: Any) -> None:
        self.chunks.append(rpc_json(self._method, chunk, what="chunk"))

    def end(self, final: Any = None) -> None:
        if final is not None:
            self.chunks.append(rpc_json(self._method, final))


@router.post("/rpc/{method}", response_model=RpcResult)
async def call_method(agent: AgentDep, method: str, body: RpcCall | None = None) -> RpcResult:
    """Call a `@callable_method` in the agent's turn; a streaming method's chunks come
    back as a list. 404 not callable, 422 arguments the method does not take, 400 the
    method raised, 503 the agent stayed busy past AGENT_TURN_WAIT."""
    stream = _CollectedStream(method)
    result, streamed = await call_callable(agent, method, (body or RpcCall()).args, stream=stream)
    return RpcResult(result=stream.chunks if streamed else result)
