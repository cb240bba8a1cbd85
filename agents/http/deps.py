"""FastAPI dependencies: the process's runtime and the agent a route names."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request

from agents.actor.agent import Agent, enter
from agents.core.errors import AgentError, ForbiddenError
from agents.core.names import SAFE_NAME
from agents.http.errors import AnsweredBeforeRouting
from agents.runtime import AgentRuntime

NAME_PATTERN = f"^{SAFE_NAME}$"


async def get_runtime(request: Request) -> AgentRuntime:
    # async on purpose: FastAPI runs a plain `def` dependency in a thread pool, a thread
    # hop per request for what is an attribute read (measured in bench/starts.py).
    return request.app.state.runtime


Runtime = Annotated[AgentRuntime, Depends(get_runtime)]


async def get_agent(
    request: Request,
    rt: Runtime,
    agent: Annotated[str, Path(description="agent type, kebab-case (task-agent)")],
    name: Annotated[str, Path(pattern=NAME_PATTERN, description="agent name: 1-128 of A-Z a-z 0-9 _ . -")],
) -> Agent[Any]:
    instance = rt.agent(agent, name)
    if instance.overrides("on_before_request"):
        answer = await instance.on_before_request(request, name)
        if answer is not None:
            raise AnsweredBeforeRouting(answer)
    if not instance.overrides("authorize_request"):
        return instance
    try:
        await enter(instance, instance.authorize_request, request)  # agent code: in its turn
    except AgentError:
        raise
    except Exception as err:  # the agent's own check refused the request
        raise ForbiddenError(str(err) or f"{agent}/{name} refused the request") from err
    return instance


AgentDep = Annotated[Agent[Any], Depends(get_agent)]
