"""A chat agent's HTTP routes: its transcript (`GET .../get-messages`, as Cloudflare's
`AIChatAgent` serves it for `useAgentChat`), tool approvals, cancel and clear. A chat
client does the same over its WebSocket; these are for scripts, back offices and
people approving from somewhere else than the chat."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from agents.actor.agent import Agent
from agents.chat import ChatAgent
from agents.core.errors import NotFoundError
from agents.http.deps import get_agent

router = APIRouter(prefix="/{agent}/{name}", tags=["chat"])


async def get_chat_agent(agent: Annotated[Agent[Any], Depends(get_agent)]) -> ChatAgent[Any]:
    if not isinstance(agent, ChatAgent):
        raise NotFoundError(f"{agent.agent_type} is not a chat agent (its class does not extend ChatAgent)")
    return agent


ChatAgentDep = Annotated[ChatAgent[Any], Depends(get_chat_agent)]


@router.get("/get-messages")
async def get_messages(agent: ChatAgentDep) -> list[dict[str, Any]]:
    """The conversation: AI SDK UI messages (`{id, role, parts}`), oldest first."""
    return await agent.refresh_messages()


@router.get("/chat/turn")
async def get_turn(agent: ChatAgentDep) -> dict[str, Any] | None:
    """The turn in progress (`request_id`, `message_id`, `workflow_id`, `status`:
    `streaming` or `waiting`, `awaiting`: tool calls it waits for), or null."""
    return await agent.active_turn()


@router.post("/chat/tool-calls/{tool_call_id}/approve", status_code=204)
async def approve_tool(agent: ChatAgentDep, tool_call_id: str) -> None:
    """Approve a tool call the turn waits for: it runs, and the turn goes on."""
    await agent.approve_tool(tool_call_id)


@router.post("/chat/tool-calls/{tool_call_id}/deny", status_code=204)
async def deny_tool(agent: ChatAgentDep, tool_call_id: str) -> None:
    """Deny a tool call the turn waits for: it does not run; the model is told."""
    await agent.deny_tool(tool_call_id)


@router.post("/chat/cancel", status_code=204)
async def cancel_turn(agent: ChatAgentDep) -> None:
    """Stop the turn in progress (its partial answer is kept, marked aborted); 404 when idle."""
    async with agent.turn():  # as the chat client's cancel: after what the agent is doing
        cancelled = await agent.cancel_turn()
    if not cancelled:
        raise NotFoundError(f"{agent.agent_type}/{agent.name} has no chat turn in progress")


@router.delete("/chat/messages", status_code=204)
async def clear_messages(agent: ChatAgentDep) -> None:
    """Forget the conversation (a turn in progress is cancelled first)."""
    async with agent.turn():
        await agent.clear()
        await agent.broadcast({"type": "cf_agent_chat_clear"})
