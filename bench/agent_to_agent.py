"""Agents calling agents: A calls B (different agents) through B's stub (`get_agent`)
against the same call made over HTTP RPC, in one run.

- `calls_per_s_stub` / `calls_per_s_http`: closed-loop clients each call their own A
  over HTTP RPC (`call_other`), whose method calls its own B's `bump` in A's turn,
  through the stub or over HTTP RPC to the API; the outer call is the same for both,
  so the ratio is the inner call's. B's counts are checked (a lost call fails).
- `stub_added_p50_ms`: inside one A's turn, B's `bump` through the stub against the same
  call on B's Agent object in its turn (a local method call that takes the turn).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from typing import Any

from bench._http import Connection
from bench._stack import Stack, ratio, summary

PAIRS = 10


async def run(stack: Stack, *, total: int = 2000, sequential: int = 300) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    connections = [await Connection.open(stack.api_url) for _ in range(PAIRS)]
    try:

        async def calls_per_s(via: str, count: int) -> float:
            """Calls per second of one closed-loop client per pair, `count // PAIRS` each."""

            async def client(pair: int) -> None:
                for _ in range(count // PAIRS):
                    status, body = await connections[pair].post_json(
                        f"/agents/bench-agent/a-{tag}-{pair}/rpc/call_other",
                        {"args": [f"b-{tag}-{pair}", via, stack.api_url]},
                    )
                    if status != 200:
                        raise RuntimeError(f"call_other answered {status}: {body[:200]!r}")

            began = time.perf_counter()
            await asyncio.gather(*(client(pair) for pair in range(PAIRS)))
            return count // PAIRS * PAIRS / (time.perf_counter() - began)

        await calls_per_s("stub", 100)
        await calls_per_s("http", 100)
        rates: dict[str, list[float]] = {"stub": [], "http": []}
        for _ in range(3):  # alternate, so a slow spell of the machine falls on both alike
            for via in rates:
                rates[via].append(await calls_per_s(via, total // 3))
        done = [(await stack.runtime.agent("bench-agent", f"b-{tag}-{p}").refresh_state())["n"] for p in range(PAIRS)]
        expected = 200 + 2 * 3 * (total // 3 // PAIRS * PAIRS)
        if sum(done) != expected:
            raise RuntimeError(f"lost calls: {sum(done)} of {expected} counted")
        status, body = await connections[0].post_json(
            f"/agents/bench-agent/seq-a-{tag}/rpc/time_calls", {"args": [f"seq-b-{tag}", sequential + 20]}
        )
        if status != 200:
            raise RuntimeError(f"time_calls answered {status}: {body[:200]!r}")
    finally:
        for connection in connections:
            await connection.close()
    samples = json.loads(body)["result"]
    stub, local = summary(samples["stub"][20:]), summary(samples["local"][20:])
    per_s = {via: statistics.mean(values) for via, values in rates.items()}
    return {
        "calls_per_s_stub": round(per_s["stub"], 1),
        "calls_per_s_http": round(per_s["http"], 1),
        "stub_vs_http": ratio(per_s["stub"], per_s["http"]),
        "stub_call": stub,
        "local_call_with_turn": local,
        "stub_added_p50_ms": round(stub["p50_ms"] - local["p50_ms"], 3),
        "pairs": PAIRS,
        "target": {"stub_vs_http_min": 1.0, "stub_added_p50_ms_max": 2.0},
    }
