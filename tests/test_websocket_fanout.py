"""Fan-out across API processes and isolation from slow clients."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
from typing import Any

import pytest

from agents import AgentRuntime, AppRegistry, Settings, connect_redis, ready_redis
from agents.client import AgentClient
from devstack import free_port


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small per-client queue, so a stalled client overflows it quickly."""
    return settings.model_copy(update={"ws_queue_size": 16})


@pytest.mark.usefixtures("worker")
async def test_every_broadcast_reaches_every_client_once_across_two_api_processes(
    two_apis: list[str], runtime: AgentRuntime, agent_name: str
) -> None:
    clients = [AgentClient(two_apis[i % 2], "recorder-agent", agent_name) for i in range(6)]
    inboxes: list[list[dict[str, Any]]] = [[] for _ in clients]
    for client, inbox in zip(clients, inboxes, strict=True):
        client.on_message(inbox.append)
        await client.connect()
    try:
        agent = runtime.agent("recorder-agent", agent_name)
        for i in range(20):
            await agent.broadcast({"type": "tick", "n": i})
        # a state change made through process B reaches clients on process A
        await clients[1].set_state({"counter": 1, "via": "B"})
        for _ in range(200):
            if all(len([m for m in inbox if m["type"] == "tick"]) >= 20 for inbox in inboxes):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # time for any duplicate to show up
        for inbox in inboxes:
            assert [m["n"] for m in inbox if m["type"] == "tick"] == list(range(20))
        for i, client in enumerate(clients):
            if i != 1:
                assert client.state == {"counter": 1, "via": "B"}
    finally:
        for client in clients:
            await client.close()


async def test_a_client_that_stops_reading_never_delays_the_others(
    api_server: str, runtime: AgentRuntime, agent_name: str
) -> None:
    stalled = await _stuck_client(api_server, f"/agents/recorder-agent/{agent_name}")
    count = 2000
    async with AgentClient(api_server, "recorder-agent", agent_name) as healthy:
        got: list[int] = []
        healthy.on_message(lambda m: got.append(m["n"]) if m["type"] == "bulk" else None)
        agent = runtime.agent("recorder-agent", agent_name)
        payload = "x" * 16_000  # 32 MB in all: more than socket buffers and a 16-message queue hold
        loop = asyncio.get_running_loop()
        started = loop.time()
        for i in range(count):
            await agent.broadcast({"type": "bulk", "n": i, "pad": payload})
        while len(got) < count and loop.time() - started < 30:
            await asyncio.sleep(0.05)
        assert got == list(range(count))
    # The stuck client was cut off instead of buffering without bound: the server closed
    # the TCP connection, which shows as end-of-stream once what was in flight is read.
    loop = asyncio.get_running_loop()
    received = 0
    while chunk := await asyncio.wait_for(loop.sock_recv(stalled, 1 << 20), 15):
        received += len(chunk)
    assert received < count * 16_000
    stalled.close()


async def test_a_stalled_reader_of_large_messages_is_cut_off_by_bytes_and_dropped(
    settings: Settings, agent_name: str
) -> None:
    """The queue was capped by count only: one client that never read, on an agent with
    a 500 KB state, held up to 1,024 of them (294 -> 630 MB), kept until its socket timed
    out. Now it is cut off past WS_QUEUE_BYTES and, its socket taking not even a close
    frame, dropped: its connection ends although it reads nothing."""
    from tests.conftest import serve_api

    settings = settings.model_copy(update={"ws_queue_size": 1024, "ws_queue_bytes": 1_000_000})
    server, task = await serve_api(settings, free_port())
    try:
        base = f"http://127.0.0.1:{server.config.port}"
        stalled = await _stuck_client(base, f"/agents/recorder-agent/{agent_name}")
        redis = await ready_redis(connect_redis(settings))
        runtime = AgentRuntime(redis=redis, registry=AppRegistry.from_modules(settings.module_list), settings=settings)
        agent = runtime.agent("recorder-agent", agent_name)
        big = "x" * 200_000
        for i in range(80):  # 16 MB: past the 1 MB cap, far below 1,024 messages
            await agent.broadcast({"type": "bulk", "n": i, "pad": big})
        await redis.aclose()
        loop = asyncio.get_running_loop()
        received, deadline = 0, loop.time() + 10
        with contextlib.suppress(ConnectionResetError):  # dropped: a reset, not an end-of-stream
            while chunk := await asyncio.wait_for(loop.sock_recv(stalled, 1 << 16), deadline - loop.time()):
                received += len(chunk)
        # What was in flight still arrives (socket buffers on loopback hold a few MB), not 16 MB.
        assert received < 8_000_000, f"{received} bytes reached a client cut off at 1 MB"
        stalled.close()
    finally:
        server.should_exit = True
        await task


async def _stuck_client(base_url: str, path: str) -> socket.socket:
    """A client that completes the WebSocket handshake and then never reads: a small
    fixed receive buffer (no autotuning, which may grow to tens of MB on loopback)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)
    sock.setblocking(False)
    host, port = base_url.removeprefix("http://").split(":")
    await loop.sock_connect(sock, (host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    await loop.sock_sendall(
        sock,
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode(),
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += await loop.sock_recv(sock, 1)  # byte by byte: nothing past the handshake
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock
