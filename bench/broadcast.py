"""Broadcast to the WebSocket clients of one agent (1,000 on one API process; 10,000
spread over two): time from `agent.broadcast()` (published on Redis) until each client
has the message, and until the last one has it; the resident memory of the (largest)
API process with them connected.
The clients run in this process on `bench._ws`, a client that costs next to nothing,
but they still share the two cores with the API."""

from __future__ import annotations

import asyncio
import json
import resource
import time
import uuid
from collections.abc import Sequence
from typing import Any

from bench._stack import Stack, start_api, stop, summary
from bench._ws import WsClient


def _raise_file_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


def _rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


async def run(stack: Stack, *, clients: int = 1000, broadcasts: int = 30, api_processes: int = 1) -> dict[str, Any]:
    return await on_fresh_apis(
        stack, stack.settings, stack.runtime, processes=api_processes, clients=clients, broadcasts=broadcasts
    )


async def on_fresh_apis(
    stack: Stack, settings: Any, runtime: Any, *, processes: int, clients: int, broadcasts: int
) -> dict[str, Any]:
    """`deliver` through `processes` fresh API processes on `settings` (what a deploy
    starts), so memory is the clients' and the process's own, not what earlier
    benchmarks left behind."""
    started = [await start_api(settings, stack.tmp) for _ in range(processes)]
    try:
        pids = [proc.pid for _, proc in started]
        rss_before = max(_rss_mb(pid) for pid in pids)
        result = await deliver(
            [url for url, _ in started], runtime, clients=clients, broadcasts=broadcasts, api_pids=pids
        )
    finally:
        for _, proc in started:
            stop(proc)
    result["api_rss_mb"]["before"] = rss_before
    return result


async def deliver(
    api_urls: list[str], runtime: Any, *, clients: int, broadcasts: int, api_pids: Sequence[int] = ()
) -> dict[str, Any]:
    """`clients` WebSocket clients of one agent, spread over the API processes at
    `api_urls`; `broadcasts` timed broadcasts published through `runtime`'s Redis."""
    _raise_file_limit(clients * 2 + 256)
    name = f"bc-{uuid.uuid4().hex[:8]}"
    urls = [f"{api.replace('http', 'ws')}/agents/bench-agent/{name}" for api in api_urls]
    arrivals: dict[int, list[float]] = {}
    everyone = asyncio.Event()

    def on_text(payload: bytes, at: float) -> None:
        if b'"bench"' not in payload:
            return  # the connect frames (identity, state, MCP servers)
        times = arrivals.setdefault(json.loads(payload)["i"], [])
        times.append(at)
        if len(times) == clients:
            everyone.set()

    sockets: list[WsClient] = []
    rss: dict[str, float] = {}
    try:
        for start in range(0, clients, 50):
            batch = range(start, min(start + 50, clients))
            sockets += await asyncio.gather(*(WsClient.connect(urls[i % len(urls)], on_text) for i in batch))
        await asyncio.sleep(0.5)  # every connect handshake sent and settled
        if api_pids:  # the largest of the processes
            rss["connected"] = max(_rss_mb(pid) for pid in api_pids)
        agent = runtime.agent("bench-agent", name)
        per_delivery: list[float] = []
        last_delivery: list[float] = []
        for i in range(broadcasts + 3):  # the first 3 warm up
            everyone.clear()
            sent = time.time()
            await agent.broadcast({"type": "bench", "i": i})
            await asyncio.wait_for(everyone.wait(), 30)
            delays = [(t - sent) * 1000 for t in arrivals.pop(i)]
            if i >= 3:
                per_delivery.extend(delays)
                last_delivery.append(max(delays))
            await asyncio.sleep(0.05)
        if api_pids:
            rss["after_broadcasts"] = max(_rss_mb(pid) for pid in api_pids)
    finally:
        for client in sockets:
            client.close()
    return {
        "clients": len(sockets),
        "api_processes": len(api_urls),
        "broadcasts": broadcasts,
        "per_delivery": summary(per_delivery),
        "all_delivered": summary(last_delivery),
        "api_rss_mb": rss,
    }
