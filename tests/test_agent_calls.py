"""Agents calling agents from server code (issue 31, item 1): Cloudflare's
`getAgentByName(env.Other, "name")` as `await self.get_agent(Other, "name")`, a stub
whose methods run in the other agent's turn."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from agents import AgentRuntime, ValidationError
from tests.app import CalleeAgent
from tests.helpers import wait_for_status


async def test_an_agent_calls_another_through_its_stub_over_http(
    api_server: str, runtime: AgentRuntime, agent_name: str
) -> None:
    async with httpx.AsyncClient(base_url=api_server, timeout=30) as http:
        reply = await http.post(f"/agents/caller-agent/{agent_name}/rpc/ask", json={"args": [f"{agent_name}-b", 21]})
    assert reply.json() == {"result": 42}, reply.text
    assert (await runtime.load_agent("callee-agent", f"{agent_name}-b")).state == {"doubled": 1}
    assert (await runtime.load_agent("caller-agent", agent_name)).state == {"asked": 1}


async def test_a_call_chain_that_comes_back_to_an_agent_goes_on_in_its_turn(
    runtime: AgentRuntime, agent_name: str
) -> None:
    caller = runtime.agent("caller-agent", agent_name)
    ring = await caller.get_agent("caller-agent", agent_name)
    # caller.ring (caller's turn) -> callee.call_back (callee's turn) -> caller.echo: no deadlock.
    assert await asyncio.wait_for(ring.ring(f"{agent_name}-b"), 5) == "BACK"


async def test_the_callees_errors_are_raised_in_the_caller_and_only_its_own_methods_are_callable(
    runtime: AgentRuntime, agent_name: str
) -> None:
    callee = await runtime.get_agent(CalleeAgent, agent_name)
    with pytest.raises(ValueError, match="not today"):
        await callee.refuse()
    with pytest.raises(ValidationError, match="framework method"):
        await callee.destroy()
    with pytest.raises(ValidationError, match="has no method"):
        await callee.nothing_like_this()
    with pytest.raises(AttributeError):
        callee._write  # noqa: B018


async def test_calls_into_one_agent_from_two_api_processes_take_its_turn_one_at_a_time(
    two_apis: list[str], runtime: AgentRuntime, agent_name: str
) -> None:
    """The callee's read-modify-write (`doubled + 1`) stays exact while callers on two
    API processes call it at once: the stub's call runs in the callee's turn, which the
    processes share through Redis."""
    callee = f"{agent_name}-shared"
    async with httpx.AsyncClient(timeout=30) as http:

        async def ask(api: str, caller: int) -> int:
            url = f"{api}/agents/caller-agent/{agent_name}-{caller}/rpc/ask"
            return (await http.post(url, json={"args": [callee, caller]})).json()["result"]

        results = await asyncio.gather(*(ask(two_apis[i % 2], i) for i in range(20)))
    assert results == [2 * i for i in range(20)]
    assert (await runtime.load_agent("callee-agent", callee)).state == {"doubled": 20}


@pytest.mark.usefixtures("worker")
async def test_a_workflow_calls_another_agent_from_its_code_and_from_a_step(
    runtime: AgentRuntime, agent_name: str
) -> None:
    """`self.get_agent(Other, name)` in a workflow: the call runs in the other agent's
    turn in the worker; its error ends the call at once, named, in the workflow."""
    recorder = runtime.agent("recorder-agent", agent_name)
    run_id = await recorder.run_workflow("other_agent_flow", {"callee": f"{agent_name}-b"})
    done = await wait_for_status(recorder, run_id, "complete")
    assert done.result == {"first": 2, "second": 4, "refused": "ValueError: not today"}
    assert (await runtime.load_agent("callee-agent", f"{agent_name}-b")).state == {"doubled": 2}  # each once
