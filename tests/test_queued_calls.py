"""Queued method calls (`Agent.queue`): run one at a time in the order queued, each in
the agent's turn while clients call the agent concurrently; a failing call is retried in
place; `dequeue` takes a call off before it runs."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from agents import AgentRuntime, RetryOptions
from agents.core.errors import ValidationError
from tests.app import starts_key
from tests.helpers import eventually


async def rpc(web: httpx.AsyncClient, agent: str, method: str, *args: Any) -> Any:
    response = await web.post(f"{agent}/rpc/{method}", json={"args": list(args)})
    assert response.status_code == 200, response.text
    return response.json()["result"]


@pytest.mark.usefixtures("worker")
async def test_queued_calls_run_in_order_while_clients_call_the_agent(
    two_apis: list[str], runtime: AgentRuntime, agent_name: str
) -> None:
    agent = f"/agents/reminder-agent/{agent_name}"
    async with (
        httpx.AsyncClient(base_url=two_apis[0], timeout=30) as a,
        httpx.AsyncClient(base_url=two_apis[1], timeout=30) as b,
    ):

        async def clients() -> None:  # other calls, through both processes, all along
            for _ in range(10):
                await asyncio.gather(*(rpc(web, agent, "bump") for web in (a, b) for _ in range(3)))

        async def enqueue() -> list[str]:
            ids = []
            for i in range(30):
                # The third call fails twice first: it is retried in place, and the ones
                # after it wait for it.
                payload = {"i": i, "fail_times": 2} if i == 2 else {"i": i}
                ids.append(await rpc((a, b)[i % 2], agent, "enqueue", payload))
            return ids

        _, ids = await asyncio.gather(clients(), enqueue())
    reminder = runtime.agent("reminder-agent", agent_name)
    state = await eventually(
        reminder.refresh_state, lambda s: len(s["order"]) >= 30, timeout=60, what="30 queued calls ran"
    )
    assert [entry["i"] for entry in state["order"]] == list(range(30))
    assert state["n"] == 60  # no client call lost an update to a queued one, nor the reverse
    assert len(set(ids)) == 30 and await reminder.get_queue() == []
    assert int(await runtime.redis.get(f"{starts_key(reminder)}:tries")) == 3


@pytest.mark.usefixtures("worker")
async def test_dequeue_takes_a_call_off_before_it_runs(
    http: httpx.AsyncClient, runtime: AgentRuntime, agent_name: str
) -> None:
    reminder = runtime.agent("reminder-agent", agent_name)
    await reminder.queue("record", {"i": 0, "sleep": 1.5})
    second = await reminder.queue(reminder.record, {"i": 1})
    third = await reminder.queue("record", {"i": 2})
    listed = (await http.get(f"/agents/reminder-agent/{agent_name}/calls/queue")).json()["queue"]
    assert [row["payload"]["i"] for row in listed][-2:] == [1, 2] and listed[-2]["id"] == second
    removed = await http.delete(f"/agents/reminder-agent/{agent_name}/calls/queue/{second}")
    assert removed.json() == {"deleted": 1}
    assert (await http.delete(f"/agents/reminder-agent/{agent_name}/calls/queue/{second}")).status_code == 404
    state = await eventually(reminder.refresh_state, lambda s: len(s["order"]) >= 2, what="the rest ran")
    assert [entry["i"] for entry in state["order"]] == [0, 2]
    assert await reminder.get_queued(third) is None


@pytest.mark.usefixtures("worker")
async def test_a_call_that_keeps_failing_is_dropped_after_its_attempts_and_the_queue_goes_on(
    runtime: AgentRuntime, agent_name: str
) -> None:
    """Retry as Cloudflare writes it (`{maxAttempts, baseDelayMs, maxDelayMs}`): three
    tries 50 and 100 ms apart (the default waits a second before the second)."""
    reminder = runtime.agent("reminder-agent", agent_name)
    retry = {"maxAttempts": 3, "baseDelayMs": 50, "maxDelayMs": 100}
    await reminder.queue("record", {"i": 0, "fail_times": 99}, retry=retry)
    await reminder.queue("record", {"i": 1})
    state = await eventually(reminder.refresh_state, lambda s: len(s["order"]) >= 1, what="the next call ran")
    assert [entry["i"] for entry in state["order"]] == [1]
    assert int(await runtime.redis.get(f"{starts_key(reminder)}:tries")) == 3  # tried three times, then dropped
    assert await reminder.get_queue() == []


async def test_retry_options_are_read_as_python_or_cloudflare_writes_them_and_checked(
    http: httpx.AsyncClient, runtime: AgentRuntime, agent_name: str
) -> None:
    reminder = runtime.agent("reminder-agent", agent_name)
    call = await reminder.schedule(3600, "record", {"i": 0}, retry={"max_attempts": 2, "base_delay": 0.5})
    assert (call.attempts, call.base_delay, call.max_delay) == (2, 0.5, 60.0)
    every = await reminder.schedule_every(60, "record", retry=RetryOptions(max_attempts=7, max_delay=5))
    [listed] = [
        c
        for c in (await http.get(f"/agents/reminder-agent/{agent_name}/calls/scheduled")).json()["schedules"]
        if c["id"] == every.id
    ]
    assert (listed["attempts"], listed["base_delay"], listed["max_delay"]) == (7, 1.0, 5.0)
    for bad, words in [
        ({"max_attempts": 0}, "1 to 100"),
        ({"tries": 3}, "no option 'tries'"),
        ({"base_delay": 5, "max_delay": 1}, "base_delay <= max_delay"),
        ({"baseDelayMs": "100"}, "numbers of seconds"),
    ]:
        with pytest.raises(ValidationError, match=words):
            await reminder.schedule(60, "record", retry=bad)
    with pytest.raises(ValidationError, match="not both"):
        await reminder.queue("record", attempts=3, retry={"max_attempts": 3})
    assert {c.id for c in await reminder.get_schedules()} == {call.id, every.id}  # refused ones left nothing
    for made in (call, every):
        await reminder.cancel_schedule(made.id)
