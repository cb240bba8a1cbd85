"""Event-driven starts: a webhook posts events by key; Temporal signal-with-start."""

from __future__ import annotations

import asyncio

import httpx
import pytest

pytestmark = pytest.mark.usefixtures("worker")


async def test_same_key_reaches_one_run_and_a_new_key_starts_another(http: httpx.AsyncClient, agent_name: str) -> None:
    url = f"/agents/recorder-agent/{agent_name}/events/collect_events"
    first = await http.post(url, json={"key": "order-1", "type": "webhook", "payload": "a", "params": {"count": 2}})
    assert first.status_code == 201 and first.json() == {"id": "collect_events-order-1", "started": True}
    second = await http.post(url, json={"key": "order-1", "type": "webhook", "payload": "b"})
    assert second.status_code == 200 and second.json() == {"id": "collect_events-order-1", "started": False}
    other = await http.post(url, json={"key": "order-2", "type": "webhook", "payload": "x", "params": {"count": 1}})
    assert other.json() == {"id": "collect_events-order-2", "started": True}

    runs = f"/agents/recorder-agent/{agent_name}/workflows"
    for run_id, expected in (("collect_events-order-1", ["a", "b"]), ("collect_events-order-2", ["x"])):
        for _ in range(200):
            row = (await http.get(f"{runs}/{run_id}")).json()
            if row["status"] == "complete":
                break
            await asyncio.sleep(0.05)
        assert row["status"] == "complete" and row["result"] == expected
        assert row["metadata"]["key"] == run_id.removeprefix("collect_events-")
    assert (await http.get(runs)).json()["total"] == 2

    again = await http.post(url, json={"key": "order-2", "type": "webhook", "payload": "y", "params": {"count": 1}})
    assert again.json() == {"id": "collect_events-order-2", "started": True}  # the old run finished: a new one
    bad = await http.post(url, json={"key": "no spaces", "payload": 1})
    assert bad.status_code == 422
    unknown = await http.post(f"/agents/recorder-agent/{agent_name}/events/nope", json={"key": "k"})
    assert unknown.status_code == 404


async def test_concurrent_first_posts_with_one_key_reach_one_run(http: httpx.AsyncClient, agent_name: str) -> None:
    url = f"/agents/recorder-agent/{agent_name}/events/collect_events"
    posts = await asyncio.gather(
        *(
            http.post(url, json={"key": "burst", "type": "webhook", "payload": i, "params": {"count": 3}})
            for i in range(3)
        )
    )
    assert [p.json()["started"] for p in posts].count(True) == 1
    runs = f"/agents/recorder-agent/{agent_name}/workflows/collect_events-burst"
    for _ in range(200):
        row = (await http.get(runs)).json()
        if row["status"] == "complete":
            break
        await asyncio.sleep(0.05)
    assert sorted(row["result"]) == [0, 1, 2]
