"""Workflow starts per second: concurrent clients POSTing to the agent API (validation,
tracking row, Temporal start, run id) vs the raw client's `start_workflow`, same
concurrency. Every start goes to a task queue no worker polls, so the figure is the
start path alone, not the worker (which shares this machine's two cores) running them.

Two raw baselines. `raw_same_request`, the target's: the raw client makes the start our
API makes on Temporal (the same input, the three search attributes and the summary that
make a run findable by agent in Temporal UI), so the ratio is what the agent layer
costs (HTTP, validation, the tracking row). `raw_plain`: a bare start with none of those;
the dev server spends about 1.4 ms more CPU on each start with them (SQLite visibility
indexes, the summary as user metadata), which the plain ratio includes."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from agents import AgentRuntime
from bench._http import Connection
from bench._stack import Stack, rate, ratio, start_api, stop
from bench.raw import same_input, same_search_attributes

ROUNDS = 4


async def run(stack: Stack, *, total: int = 400, concurrency: int = 16) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    api_url, api = await start_api(stack.settings.model_copy(update={"task_queue": "bench-idle"}), stack.tmp)
    try:
        return await _measure(stack, api_url, tag, total, concurrency)
    finally:
        stop(api)


async def _measure(stack: Stack, api_url: str, tag: str, total: int, concurrency: int) -> dict[str, Any]:
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(concurrency):
        pool.put_nowait(await Connection.open(api_url))
    try:

        async def ours(i: int) -> None:
            connection = await pool.get()
            try:
                status, body = await connection.post_json(
                    f"/agents/bench-agent/st-{tag}-{i % 50}/workflows",
                    {"workflow": "approval_probe", "params": {"count": 1}},
                )
            finally:
                pool.put_nowait(connection)
            if status != 201:
                raise RuntimeError(f"start answered {status}: {body[:200]!r}")

        async def raw_plain(i: int) -> None:
            await stack.raw_temporal.start_workflow(
                "raw_approval_probe", 1, id=f"st-{tag}-{uuid.uuid4().hex}", task_queue="bench-idle-raw"
            )

        async def raw_same_request(i: int) -> None:
            name, tracking_id = f"sr-{tag}-{i % 50}", f"wf_{uuid.uuid4().hex[:24]}"
            await stack.raw_temporal.start_workflow(
                "approval_probe",
                same_input(name, tracking_id),
                id=f"bench-agent/{name}/{tracking_id}",
                task_queue="bench-idle-raw",
                search_attributes=same_search_attributes(name),
                static_summary=f"approval_probe for bench-agent/{name} ({tracking_id})",
            )

        idle = AgentRuntime(
            redis=stack.redis,
            registry=stack.runtime.registry,
            temporal=stack.temporal,
            settings=stack.settings.model_copy(update={"task_queue": "bench-idle"}),
        )

        async def python_api(i: int) -> None:  # the same start minus the HTTP hop and the API process
            await idle.agent("bench-agent", f"sp-{tag}-{i % 50}").run_workflow("approval_probe", {"count": 1})

        ways = {"ours": ours, "raw_same_request": raw_same_request, "python_api": python_api, "raw_plain": raw_plain}
        for way in ways.values():
            await rate(way, 20, 4)  # warm-up
        rates: dict[str, list[float]] = {name: [] for name in ways}
        # The dev server slows down as started runs pile up in it: short turns, each way
        # in every position in turn, so none is measured only on a fuller server.
        names = list(ways)
        for turn in range(ROUNDS):
            for name in names[turn % len(names) :] + names[: turn % len(names)]:
                rates[name].append(await rate(ways[name], total // ROUNDS, concurrency))
    finally:
        while not pool.empty():
            await pool.get_nowait().close()
    per_s = {name: sum(values) / len(values) for name, values in rates.items()}
    return {
        "ours_per_s": round(per_s["ours"], 1),
        "raw_per_s": round(per_s["raw_same_request"], 1),
        "ratio": ratio(per_s["ours"], per_s["raw_same_request"]),
        "concurrency": concurrency,
        "starts": total,
        "python_api_per_s": round(per_s["python_api"], 1),
        "ratio_python_api": ratio(per_s["python_api"], per_s["raw_same_request"]),
        "raw_plain_per_s": round(per_s["raw_plain"], 1),
        "ratio_to_raw_plain": ratio(per_s["ours"], per_s["raw_plain"]),
        "target": {"ratio_min": 0.8},
    }
