"""FastAPI dependencies: the process's runtime and the agent a route names."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request

from agents._agent import Agent
from agents._names import SAFE_NAME
from agents._runtime import AgentRuntime

NAME_PATTERN = f"^{SAFE_NAME}$"


def get_runtime(request: Request) -> AgentRuntime:
    return request.app.state.runtime


Runtime = Annotated[AgentRuntime, Depends(get_runtime)]


def get_agent(
    rt: Runtime,
    agent: Annotated[str, Path(description="agent type, kebab-case (task-agent)")],
    name: Annotated[str, Path(pattern=NAME_PATTERN, description="agent name: 1-128 of A-Z a-z 0-9 _ . -")],
) -> Agent[Any]:
    return rt.agent(agent, name)


AgentDep = Annotated[Agent[Any], Depends(get_agent)]
