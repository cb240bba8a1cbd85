"""Broadcast to 1,000 WebSocket clients of one agent, all connected to one API process:
time from `agent.broadcast()` (published on Redis) until each client has the message,
and until the last one has it; the API process's resident memory with them connected.
The clients run in this process, so their own receive work is part of the figure."""

from __future__ import annotations

import asyncio
import json
import resource
import time
import uuid
from typing import Any

import websockets

from bench._stack import Stack, summary


def _raise_file_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


def _rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


async def run(stack: Stack, *, clients: int = 1000, broadcasts: int = 30) -> dict[str, Any]:
    _raise_file_limit(clients * 2 + 256)
    name = f"bc-{uuid.uuid4().hex[:8]}"
    url = f"{stack.api_url.replace('http', 'ws')}/agents/bench-agent/{name}"
    rss_before = _rss_mb(stack.api_pid)
    sockets: list[Any] = []
    try:
        for start in range(0, clients, 50):
            batch = await asyncio.gather(*(websockets.connect(url, max_size=None, ping_interval=None)
                                           for _ in range(min(50, clients - start))))  # fmt: skip
            await asyncio.gather(*(ws.recv() for ws in batch for _ in range(1)))  # identity
            await asyncio.gather(*(ws.recv() for ws in batch))  # mcp servers
            sockets.extend(batch)
        rss_connected = _rss_mb(stack.api_pid)
        agent = stack.runtime.agent("bench-agent", name)

        async def arrival(ws: Any, i: int) -> float:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if message.get("i") == i:
                    return time.time()

        per_delivery: list[float] = []
        last_delivery: list[float] = []
        for i in range(broadcasts + 3):  # the first 3 warm up
            waiting = [asyncio.ensure_future(arrival(ws, i)) for ws in sockets]
            sent = time.time()
            await agent.broadcast({"type": "bench", "i": i})
            arrivals = [(t - sent) * 1000 for t in await asyncio.gather(*waiting)]
            if i >= 3:
                per_delivery.extend(arrivals)
                last_delivery.append(max(arrivals))
            await asyncio.sleep(0.05)
        rss_after = _rss_mb(stack.api_pid)
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {
        "clients": len(sockets), "broadcasts": broadcasts,
        "per_delivery": summary(per_delivery), "all_delivered": summary(last_delivery),
        "api_rss_mb": {"before": rss_before, "connected": rss_connected, "after_broadcasts": rss_after},
        "target": {"all_delivered_p99_ms_max": 200, "api_rss_mb_max": 150},
    }  # fmt: skip
