"""Agents as actors: what one call at a time per agent costs and how it scales.

- `calls_per_s_one_agent`: HTTP RPC calls of `bump` (a read-modify-write of the state,
  in the agent's turn) to one agent from `concurrency` closed-loop clients; the final
  count is checked, so a lost update fails the benchmark.
- `turn_overhead_p50_ms`: one client, calls one after another, `bump` against the same
  method marked `interleave` (no turn), taking turns call by call: p50 difference.
- `parallel_agents_speedup`: the same 20 clients calling 20 agents against all of them
  calling one agent (calls/s ratio), with a method that awaits 5 ms of I/O in its turn
  (a database or model call, which is what agent methods do): one agent's calls run in
  series, different agents' in parallel. `parallel_agents_speedup_no_io` is the same
  with `bump`, whose turn is so short that one agent already keeps this 2-core machine
  busy (client, API and Valkey share it), so there is little left to scale into.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from bench._http import Connection
from bench._stack import Stack, rate, ratio, summary

AGENTS = 20
IO_MS = 5.0


async def _calls_per_s(
    pool: asyncio.Queue[Connection], names: list[str], total: int, concurrency: int, io_ms: float = 0
) -> float:
    method, args = ("bump_after_io", [io_ms]) if io_ms else ("bump", [])

    async def call(i: int) -> None:
        connection = await pool.get()  # one request at a time per keep-alive connection
        try:
            status, body = await connection.post_json(
                f"/agents/bench-agent/{names[i % len(names)]}/rpc/{method}", {"args": args}
            )
        finally:
            pool.put_nowait(connection)
        if status != 200:
            raise RuntimeError(f"rpc answered {status}: {body[:200]!r}")

    return await rate(call, total, concurrency)


async def run(stack: Stack, *, total: int = 3000, concurrency: int = AGENTS, sequential: int = 300) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(concurrency):
        pool.put_nowait(await Connection.open(stack.api_url))
    first = await pool.get()
    pool.put_nowait(first)
    try:
        one = [f"one-{tag}"]
        many = [f"many-{tag}-{i}" for i in range(AGENTS)]
        await _calls_per_s(pool, [f"warm-{tag}"], 200, concurrency)
        rates: dict[str, list[float]] = {"one": [], "many": [], "one_io": [], "many_io": []}
        for _ in range(3):  # alternate, so a slow spell of the machine falls on all alike
            rates["one"].append(await _calls_per_s(pool, one, total // 3, concurrency))
            rates["many"].append(await _calls_per_s(pool, many, total // 3, concurrency))
            rates["one_io"].append(await _calls_per_s(pool, one, total // 30, concurrency, IO_MS))
            rates["many_io"].append(await _calls_per_s(pool, many, total // 3, concurrency, IO_MS))
        expected = 3 * (total // 3 + total // 30)
        counted = (await stack.runtime.agent("bench-agent", one[0]).refresh_state())["n"]
        if counted != expected:
            raise RuntimeError(f"lost updates: {counted} of {expected} calls counted")
        overhead = await _turn_overhead(first, f"seq-{tag}", sequential)
    finally:
        while not pool.empty():
            await pool.get_nowait().close()
    per_s = {key: sum(values) / len(values) for key, values in rates.items()}
    return {
        "calls_per_s_one_agent": round(per_s["one"], 1),
        "calls_per_s_parallel_agents": round(per_s["many"], 1),
        "parallel_agents_speedup_no_io": ratio(per_s["many"], per_s["one"]),
        "io_ms": IO_MS,
        "calls_per_s_one_agent_io": round(per_s["one_io"], 1),
        "calls_per_s_parallel_agents_io": round(per_s["many_io"], 1),
        "parallel_agents_speedup": ratio(per_s["many_io"], per_s["one_io"]),
        "agents": AGENTS,
        "concurrency": concurrency,
        **overhead,
        "target": {"calls_per_s_one_agent_min": 300, "turn_overhead_p50_ms_max": 1.5, "parallel_agents_speedup_min": 5},
    }


async def _turn_overhead(web: Connection, name: str, count: int) -> dict[str, Any]:
    samples: dict[str, list[float]] = {"bump": [], "bump_interleaved": []}
    for i in range(count + 20):
        for method in samples:
            began = time.perf_counter()
            status, body = await web.post_json(f"/agents/bench-agent/{name}/rpc/{method}", {"args": []})
            elapsed = (time.perf_counter() - began) * 1000
            if status != 200:
                raise RuntimeError(f"rpc answered {status}: {json.loads(body)}")
            if i >= 20:  # warm-up
                samples[method].append(elapsed)
    turn, bare = summary(samples["bump"]), summary(samples["bump_interleaved"])
    return {
        "rpc_with_turn": turn,
        "rpc_without_turn": bare,
        "turn_overhead_p50_ms": round(turn["p50_ms"] - bare["p50_ms"], 3),
    }
