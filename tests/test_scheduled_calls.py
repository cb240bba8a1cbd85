"""Scheduled method calls (`Agent.schedule`, `schedule_every`), as a Cloudflare agent
writes them: scheduled from the agent's own code over HTTP RPC, fired on Temporal after a
worker SIGKILL and an API restart, counted in the agent's state, listed and cancelled
over HTTP."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from activities import AgentsPlugin
from agents import AgentRuntime, ScheduledCall, Settings, ValidationError
from devstack import free_port
from tests.helpers import eventually, start_api_process, start_entry_point


async def rpc(web: httpx.AsyncClient, agent: str, method: str, *args: Any) -> Any:
    response = await web.post(f"{agent}/rpc/{method}", json={"args": list(args)})
    assert response.status_code == 200, response.text
    return response.json()["result"]


async def test_calls_fire_after_a_worker_kill_and_an_api_restart_and_cancel_stops_them(
    settings: Settings, runtime: AgentRuntime, client: Client, agent_name: str, tmp_path: Path
) -> None:
    port = free_port()
    agent = f"/agents/reminder-agent/{agent_name}"
    worker = start_entry_point("worker.py", settings, tmp_path / "worker.log")
    api = await start_api_process(settings, port, tmp_path / "api-1.log")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as web:
            ids = {
                "delayed": await rpc(web, agent, "plan", "in", 2, {"kind": "delayed"}),
                "scheduled": await rpc(web, agent, "plan", "at", 3, {"kind": "scheduled"}),
                "cron": await rpc(web, agent, "plan", "cron", "*/2 * * * * * *", {"kind": "cron"}),  # every 2 s
                "interval": await rpc(web, agent, "plan", "every", 3, {"kind": "interval"}),
            }
            listed = (await web.get(f"{agent}/calls/scheduled")).json()["schedules"]
            assert sorted(row["type"] for row in listed) == ["cron", "delayed", "interval", "scheduled"]
            assert {row["id"] for row in listed} == set(ids.values())
            crons = (await web.get(f"{agent}/calls/scheduled", params={"type": "cron"})).json()["schedules"]
            assert [row["id"] for row in crons] == [ids["cron"]]
        # Between scheduling and firing: the worker is killed, the API restarted.
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        api.terminate()
        api.wait(15)
        api = await start_api_process(settings, port, tmp_path / "api-2.log")
        reminder = runtime.agent("reminder-agent", agent_name)

        async with Worker(client, task_queue=settings.task_queue, plugins=[AgentsPlugin(runtime)]):

            async def fired() -> dict[str, int]:
                return (await reminder.refresh_state())["fired"]

            counts = await eventually(
                fired,
                lambda f: (
                    f.get(ids["delayed"]) == 1
                    and f.get(ids["scheduled"]) == 1
                    and f.get(ids["cron"], 0) >= 2
                    and f.get(ids["interval"], 0) >= 2
                ),
                timeout=45,
                what="every kind of call fired",
            )
            # One-shots are spent and leave the list; recurring calls stay until cancelled.
            assert {c.id for c in await reminder.get_schedules()} == {ids["cron"], ids["interval"]}
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as web:
                for kind in ("cron", "interval"):
                    assert (await web.delete(f"{agent}/calls/scheduled/{ids[kind]}")).json() == {"deleted": 1}
                assert (await web.delete(f"{agent}/calls/scheduled/{ids['cron']}")).status_code == 404
                assert (await web.get(f"{agent}/calls/scheduled")).json() == {"schedules": []}
            counts = await fired()
            await asyncio.sleep(4.5)  # longer than either period: a call still scheduled would fire
            assert await fired() == counts
            assert counts[ids["delayed"]] == counts[ids["scheduled"]] == 1
    finally:
        for proc in (worker, api):
            if proc.poll() is None:
                proc.kill()


@pytest.mark.usefixtures("worker")
async def test_a_cancelled_one_shot_never_fires_and_listing_filters_by_time(
    runtime: AgentRuntime, agent_name: str
) -> None:
    reminder = runtime.agent("reminder-agent", agent_name)
    soon = await reminder.schedule(2, "remind", "soon")
    later = await reminder.schedule(datetime.now(UTC) + timedelta(hours=2), reminder.remind, "later")
    assert isinstance(soon, ScheduledCall) and soon.type == "delayed" and later.type == "scheduled"
    in_an_hour = datetime.now(UTC) + timedelta(hours=1)
    assert [c.id for c in await reminder.get_schedules(end=in_an_hour)] == [soon.id]
    assert [c.id for c in await reminder.get_schedules(start=in_an_hour)] == [later.id]
    assert (await reminder.get_schedule(later.id)) == later
    assert await reminder.cancel_schedule(soon.id) is True
    assert await reminder.cancel_schedule(soon.id) is False
    await asyncio.sleep(3)
    assert (await reminder.refresh_state())["fired"] == {}
    assert [c.id for c in await reminder.get_schedules()] == [later.id]


async def test_bad_schedules_are_refused_with_what_to_do(runtime: AgentRuntime, agent_name: str) -> None:
    reminder = runtime.agent("reminder-agent", agent_name)
    for when, callback, needle in [
        (5, "nope", "no method 'nope'"),
        (5, "_private", "no method"),
        (5, "set_state", "framework method"),
        (-1, "remind", "seconds >= 0"),
        (float("nan"), "remind", "seconds >= 0"),
        ("every minute", "remind", "cron"),
        (datetime.now(), "remind", "timezone"),
        (10**12, "remind", "10 years"),
    ]:
        with pytest.raises(ValidationError, match=needle):
            await reminder.schedule(when, callback)
    with pytest.raises(ValidationError, match="at least 1 second"):
        await reminder.schedule_every(0.5, "remind")
    with pytest.raises(ValidationError, match="nested deeper"):
        await reminder.schedule(5, "remind", _deep(70))
    assert await reminder.get_schedules() == []


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


async def test_an_idempotent_schedule_made_at_every_activation_is_made_once(
    runtime: AgentRuntime, agent_name: str
) -> None:
    """Cloudflare's `schedule(..., {idempotent: true})`, for `onStart`, which runs once per
    activation: the same callback, payload and timing schedule one call while it is
    pending, from however many processes at once."""
    reminder = runtime.agent("reminder-agent", agent_name)
    made = await asyncio.gather(*(reminder.schedule(3600, "remind", "daily", idempotent=True) for _ in range(5)))
    assert len({call.id for call in made}) == 1 and made[0].id.startswith("idem_")
    other = await reminder.schedule(3600, "remind", "weekly", idempotent=True)  # another payload: another call
    every = await reminder.schedule_every(60, "remind", "daily", idempotent=True)
    assert every.id == (await reminder.schedule_every(60, "remind", "daily", idempotent=True)).id
    assert sorted(c.id for c in await reminder.get_schedules()) == sorted({made[0].id, other.id, every.id})
    with pytest.raises(ValidationError, match="either an id or idempotent"):
        await reminder.schedule(60, "remind", "x", id="mine", idempotent=True)
    for call in await reminder.get_schedules():
        await reminder.cancel_schedule(call.id)
