"""10,000 one-shot method calls scheduled across 100 agents: do they fire on time?

Each call is `agent.schedule(when, "fired", ...)` with its due time spread evenly over
`window` seconds (so the dev server sees a steady rate, total / window per second), and
`BenchAgent.fired` records when it ran, in the agent's turn. Lateness = ran - due.
Baseline, measured the same way in the same run: the one-shot a raw `temporalio` user
writes, a workflow started with the same start delay that runs one activity which records
the time (no agent row, no turn, no state).

The due times begin `lead` seconds after scheduling starts, so every call is scheduled
before its time; `scheduled_late` counts the ones that were not (their lateness then
includes the wait for scheduling, which is reported apart as `schedule_per_s`).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._stack import RAW_QUEUE, Stack, ratio
from bench.raw_activities import Fire

CONCURRENCY = 50


def _lateness(rows: list[str]) -> dict[str, Any]:
    late = sorted(max(0.0, ran - due) for _, due, ran in (json.loads(r) for r in rows))
    p = lambda q: late[min(len(late) - 1, int(len(late) * q))]  # noqa: E731
    return {
        "p50_s": round(p(0.5), 3),
        "p99_s": round(p(0.99), 3),
        "max_s": round(late[-1], 3),
        "within_2s": round(sum(x <= 2 for x in late) / len(late), 4),
        "fired": len(late),
        "fired_twice": len(rows) - len({json.loads(r)[0] for r in rows}),
    }


async def _measure(stack: Stack, kind: str, total: int, agents: int, window: float, lead: float) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    key = f"bench:fired:{kind}:{tag}"
    start = time.time() + lead
    late_to_schedule = 0

    async def schedule(i: int) -> None:
        nonlocal late_to_schedule
        due = start + window * i / total
        now = time.time()
        late_to_schedule += due < now
        if kind == "ours":
            agent = stack.runtime.agent("bench-agent", f"sched-{tag}-{i % agents}")
            await agent.schedule(datetime.fromtimestamp(due, UTC), "fired", {"key": key, "due": due})
        else:
            await stack.raw_temporal.start_workflow(
                "raw_timer_call",
                Fire(key, f"raw-{tag}-{i}", due),
                id=f"raw-{tag}-{i}",
                task_queue=RAW_QUEUE,
                start_delay=timedelta(seconds=max(0.0, due - now)),
            )

    indexes = iter(range(total))

    async def scheduler() -> None:
        for i in indexes:
            await schedule(i)

    began = time.perf_counter()
    await asyncio.gather(*(scheduler() for _ in range(CONCURRENCY)))
    scheduling = time.perf_counter() - began
    deadline = start + window + 300
    while await stack.redis.llen(key) < total and time.time() < deadline:
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)  # a call that fires twice would show now
    rows = await stack.redis.lrange(key, 0, -1)
    await stack.redis.delete(key)
    return {
        **_lateness(rows),
        "schedule_per_s": round(total / scheduling, 1),
        "scheduled_late": late_to_schedule,
    }


async def run(stack: Stack, *, total: int = 10_000, agents: int = 100, window: float = 200.0) -> dict[str, Any]:
    lead = total / 150 + 5  # scheduling runs at a few hundred per second here
    ours = await _measure(stack, "ours", total, agents, window, lead)
    raw = await _measure(stack, "raw", total, agents, window, lead)
    return {
        "one_shots": total,
        "agents": agents,
        "window_s": window,
        "fires_per_s": round(total / window, 1),
        "ours": ours,
        "raw": raw,
        "p99_lateness_ratio": ratio(ours["p99_s"], raw["p99_s"]),
        "schedule_rate_ratio": ratio(ours["schedule_per_s"], raw["schedule_per_s"]),
        "target": "every one-shot fires within 2 s of its time (within_2s == 1.0)",
    }
