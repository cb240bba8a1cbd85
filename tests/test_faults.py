"""Fault injection with real processes killed for real: Redis (AOF on) and the Temporal
dev server (SQLite file) are killed with SIGKILL mid-run and restarted on the same port
and data. Each run journals its steps to a local file, outside both servers, so "no
completed step re-ran" is checked against something neither crash can touch."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from temporalio.client import Client
from temporalio.worker import Worker

from activities import AgentsPlugin
from agents import AgentRuntime, AppRegistry, Settings, connect_temporal
from agents.client import AgentClient
from devstack import TemporalDevServer, ValkeyServer, free_port
from tests.conftest import serve_api
from tests.helpers import eventually, polled, start_api_process, through_outage, wait_for_status


def journal(path: Path) -> Counter[int]:
    return Counter(int(line) for line in path.read_text().split()) if path.exists() else Counter()


async def lines_at_least(path: Path, n: int) -> int:
    return sum((await eventually(_read(path), lambda c: sum(c.values()) >= n, what=f"{n} steps journaled")).values())


def _read(path: Path) -> Any:
    async def probe() -> Counter[int]:
        return journal(path)

    return probe


@asynccontextmanager
async def _stack(settings: Settings, temporal: Client) -> AsyncIterator[tuple[AgentRuntime, httpx.AsyncClient, str]]:
    """A worker and a real API server on `settings`; yields (runtime, http client, base URL)."""
    redis = Redis.from_url(settings.redis_target, decode_responses=True)
    runtime = AgentRuntime(
        redis=redis, registry=AppRegistry.from_modules(settings.module_list), settings=settings, temporal=temporal
    )
    server, task = await serve_api(settings, free_port())
    base = f"http://127.0.0.1:{server.config.port}"
    try:
        async with (
            Worker(temporal, task_queue=settings.task_queue, plugins=[AgentsPlugin(runtime)]),
            httpx.AsyncClient(base_url=base, timeout=30) as web,
        ):
            yield runtime, web, base
    finally:
        server.should_exit = True
        await task
        await redis.aclose()


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[ValkeyServer]:
    server = ValkeyServer(data_dir=tmp_path / "valkey", appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture
async def own_temporal(tmp_path: Path) -> AsyncIterator[TemporalDevServer]:
    server = TemporalDevServer(db_file=tmp_path / "temporal.db", log_file=tmp_path / "temporal.log").start()
    yield server
    server.stop()


async def test_redis_killed_and_restarted_with_aof_mid_run(
    settings: Settings, client: Client, own_redis: ValkeyServer, agent_name: str, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"redis_url": own_redis.url})
    path = tmp_path / "journal"
    async with _stack(settings, client) as (runtime, web, base):
        agent_url = f"/agents/recorder-agent/{agent_name}"
        assert (await web.patch(f"{agent_url}/state", json={"note": "kept"})).status_code == 200
        assert (
            await web.post(f"{agent_url}/workflows", json={"workflow": "event_flow", "id": "other"})
        ).status_code == 201
        async with AgentClient(base, "recorder-agent", agent_name, backoff=(0.1, 0.5)) as watcher:
            started = await web.post(
                f"{agent_url}/workflows",
                json={"workflow": "journal_flow", "id": "run", "params": {"path": str(path), "count": 12}},
            )
            assert started.status_code == 201, started.text
            await lines_at_least(path, 4)
            own_redis.kill()

            down = await web.get(f"{agent_url}/workflows")
            assert down.status_code == 503 and "Redis is unreachable" in down.json()["message"]
            ready = await web.get("/readyz")
            assert ready.status_code == 503 and ready.json()["redis"].startswith("unreachable")
            # The socket is closed with a code the client reconnects from (and keeps trying).
            await eventually(polled(lambda: watcher.connects), lambda n: n >= 1, what="a connect")
            await asyncio.sleep(1.5)  # steps keep journaling; bridge writes retry meanwhile
            own_redis.start()

            agent = runtime.agent("recorder-agent", agent_name)
            info = await eventually(
                through_outage(lambda: agent.get_workflow("run")),
                lambda i: i is not None and i.status in ("complete", "errored"),
                timeout=60,
                what="the run finished",
            )
            assert info.status == "complete" and info.result == {"processed": 12}, info.error
            final = {"counter": 0, "note": "kept", "done": 12}
            await eventually(polled(lambda: watcher.state), lambda s: s == final, what="the client resynced")
            assert watcher.connects >= 2
        assert (await runtime.load_agent("recorder-agent", agent_name)).state == final
        ids = {w["workflow_id"] for w in (await web.get(f"{agent_url}/workflows")).json()["workflows"]}
        assert ids == {"run", "other"}
    # The steps never touched Redis: not one ran twice.
    assert journal(path) == Counter(range(12))


async def test_temporal_killed_and_restarted_with_its_sqlite_file_mid_run(
    settings: Settings, own_temporal: TemporalDevServer, agent_name: str, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"temporal_address": own_temporal.address})
    temporal = await connect_temporal(settings)
    path = tmp_path / "journal"
    async with _stack(settings, temporal) as (runtime, web, _):
        agent_url = f"/agents/recorder-agent/{agent_name}"
        started = await web.post(
            f"{agent_url}/workflows",
            json={"workflow": "journal_flow", "id": "run", "params": {"path": str(path), "count": 10, "seconds": 0.3}},
        )
        assert started.status_code == 201, started.text
        approval = await web.post(
            f"{agent_url}/workflows", json={"workflow": "approval", "id": "approval", "params": {"title": "t"}}
        )
        assert approval.status_code == 201, approval.text
        agent = runtime.agent("recorder-agent", agent_name)
        await wait_for_status(agent, "approval", "waiting")
        # A paused run and a finished one: resume and restart must write nothing while
        # Temporal is down (resume marked the row running first, restart wiped it).
        for run_id, params in (("paused", {"sleep_first": "1 hour"}), ("done", {})):
            assert (
                await web.post(
                    f"{agent_url}/workflows", json={"workflow": "event_flow", "id": run_id, "params": params}
                )
            ).status_code == 201
        await wait_for_status(agent, "paused", "running")
        assert (await web.post(f"{agent_url}/workflows/paused/pause")).status_code == 200
        await wait_for_status(agent, "done", "waiting")
        assert (
            await web.post(f"{agent_url}/workflows/done/events", json={"type": "go", "payload": 1})
        ).status_code == 202
        done = await wait_for_status(agent, "done", "complete")
        at_kill = await lines_at_least(path, 3)
        own_temporal.kill()

        # Control routes say Temporal is down; tracking in Redis is still served, untouched.
        # Each waits out its calls' deadlines (5 s a call), so they go at once, as clients'
        # requests would: the test waits for the slowest, not for their sum.
        async def timed(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
            began = time.monotonic()
            return await call, time.monotonic() - began

        (refused, took), paused_run, approved, listed, one, resumed, restarted = await asyncio.gather(
            timed(web.post(f"{agent_url}/workflows", json={"workflow": "event_flow", "id": "new"})),
            web.post(f"{agent_url}/workflows/run/pause"),
            web.post(f"{agent_url}/workflows/approval/approve", json={}),
            web.get(f"{agent_url}/workflows", params={"status": "running"}),
            web.get(f"{agent_url}/workflows/run"),
            web.post(f"{agent_url}/workflows/paused/resume"),
            web.post(f"{agent_url}/workflows/done/restart", json={}),
        )
        assert refused.status_code == 503 and "Temporal is unreachable" in refused.json()["message"], refused.text
        assert took < 15  # bounded by CONTROL_RPC_TIMEOUT (5 s a call), not left to hang
        assert paused_run.status_code == 503 and approved.status_code == 503
        assert (await runtime.tracker.get(agent.keys, "approval")).status == "waiting"  # the approval did not land
        assert [(w["workflow_id"], w["status"]) for w in listed.json()["workflows"]] == [("run", "running")]
        assert one.status_code == 200 and one.json()["status"] == "running"
        assert resumed.status_code == 503
        assert (await runtime.tracker.get(agent.keys, "paused")).status == "paused"
        assert restarted.status_code == 503
        assert await runtime.tracker.get(agent.keys, "done") == done

        own_temporal.start()
        info = await wait_for_status(
            runtime.agent("recorder-agent", agent_name), "run", "complete", "errored", timeout=90
        )
        assert info.status == "complete" and info.result == {"processed": 10}
        assert (await web.post(f"{agent_url}/workflows/approval/approve", json={})).status_code == 202
        assert (await wait_for_status(agent, "approval", "complete", "errored")).status == "complete"
        assert (await web.post(f"{agent_url}/workflows/paused/resume")).status_code == 200  # retried: it works
        assert (await runtime.load_agent("recorder-agent", agent_name)).state["done"] == 10
    counts = journal(path)
    assert sorted(counts) == list(range(10))
    # Only a step in flight at the crash may have started again; completed ones ran once.
    again = [i for i, n in counts.items() if n > 1]
    assert all(i >= at_kill - 1 for i in again) and len(again) <= 1, counts


async def test_api_process_killed_and_restarted_clients_reconnect_and_resync(
    settings: Settings, runtime: AgentRuntime, agent_name: str, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    async def start_api(log: str) -> subprocess.Popen[bytes]:
        return await start_api_process(settings, port, tmp_path / log)

    agent = runtime.agent("recorder-agent", agent_name)
    await agent.set_state({"counter": 1})
    proc = await start_api("api-1.log")
    try:
        async with (
            AgentClient(base, "recorder-agent", agent_name, backoff=(0.1, 0.5)) as a,
            AgentClient(base, "recorder-agent", agent_name, backoff=(0.1, 0.5)) as b,
        ):
            assert a.state == b.state == {"counter": 1}
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            await agent.set_state({"counter": 2})  # while no API is up: nobody hears it live
            proc = await start_api("api-2.log")
            for client in (a, b):
                await eventually(polled(lambda c=client: c.state), lambda s: s == {"counter": 2}, what="resync")
                assert client.connects == 2
            await a.set_state({"counter": 3})  # and the new process relays as before
            await eventually(polled(lambda: b.state), lambda s: s == {"counter": 3}, what="relay after restart")
    finally:
        proc.kill()
        proc.wait(10)


@pytest.mark.usefixtures("worker")
async def test_twenty_workflows_merge_while_clients_write_and_every_client_converges(
    api_server: str, runtime: AgentRuntime, agent_name: str
) -> None:
    agent_url = f"/agents/recorder-agent/{agent_name}"
    watchers = [AgentClient(api_server, "recorder-agent", agent_name) for _ in range(5)]
    for watcher in watchers:
        await watcher.connect()
    try:
        async with httpx.AsyncClient(base_url=api_server, timeout=30) as web:

            async def start(i: int) -> str:
                response = await web.post(
                    f"{agent_url}/workflows", json={"workflow": "merge_flow", "params": {"key": f"wf{i}"}}
                )
                return response.json()["workflow_id"]

            async def client_write(i: int) -> None:
                assert (await web.patch(f"{agent_url}/state", json={f"client{i}": i})).status_code == 200

            results = await asyncio.gather(*(start(i) for i in range(20)), *(client_write(i) for i in range(20)))
            agent = runtime.agent("recorder-agent", agent_name)
            for run_id in results[:20]:
                await wait_for_status(agent, run_id, "complete", "errored", timeout=60)
        state = await agent.refresh_state()
        assert set(state) == {"counter"} | {f"wf{i}" for i in range(20)} | {f"client{i}" for i in range(20)}
        assert agent.state_version == 40  # one version per write: none merged away, none doubled
        for watcher in watchers:
            await eventually(polled(lambda w=watcher: w.state), lambda s: s == state, what="client converged")
    finally:
        for watcher in watchers:
            await watcher.close()


async def test_a_hung_temporal_answers_503_with_retry_after_and_reads_are_served_from_tracking(
    settings: Settings, own_temporal: TemporalDevServer, agent_name: str
) -> None:
    """Temporal that accepts connections and never answers (SIGSTOP): every control
    answered 502 'Timeout expired' (the SDK reports its deadline as CANCELLED), a GET of
    an unfinished run failed too, and a start that timed out deleted its row, although
    Temporal may have started the run: 409 for ever on the same start again."""
    settings = settings.model_copy(update={"temporal_address": own_temporal.address})
    temporal = await connect_temporal(settings)
    async with _stack(settings, temporal) as (runtime, web, _):
        url = f"/agents/recorder-agent/{agent_name}/workflows"
        started = await web.post(url, json={"workflow": "approval", "id": "w", "params": {"title": "t"}})
        assert started.status_code == 201, started.text
        agent = runtime.agent("recorder-agent", agent_name)
        await wait_for_status(agent, "w", "waiting")
        own_temporal.freeze()
        try:
            # At once, as clients would send them: each waits out its own deadlines.
            async def timed(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
                began = time.monotonic()
                return await call, time.monotonic() - began

            started_at = time.monotonic()
            (approve, approving), (read, reading), (start, _) = await asyncio.gather(
                timed(web.post(f"{url}/w/approve", json={})),
                timed(web.get(f"{url}/w")),
                timed(web.post(url, json={"workflow": "event_flow", "id": "n"})),
            )
            assert approve.status_code == 503 and approve.headers["retry-after"], approve.text
            assert "Temporal is unreachable" in approve.json()["message"]
            assert approving < 12  # one control's deadline, not for ever
            assert read.status_code == 200 and read.json()["status"] == "waiting", read.text
            assert reading < 6
            assert start.status_code == 503, start.text
            assert (await web.get(f"{url}/n")).json()["status"] == "queued"  # kept: it may have started
        finally:
            own_temporal.thaw()
        # The timed-out start must be older than any start may take (5 s) before it is retried.
        await asyncio.sleep(max(0.0, 5.2 - (time.monotonic() - started_at)))
        again = await web.post(url, json={"workflow": "event_flow", "id": "n"})
        assert again.status_code == 201, again.text
        await wait_for_status(agent, "n", "waiting", timeout=30)
        assert (await web.post(f"{url}/w/approve", json={})).status_code == 202
        assert (await wait_for_status(agent, "w", "complete", "errored")).status == "complete"


async def test_a_hung_redis_answers_503_within_the_socket_timeout(
    settings: Settings, own_redis: ValkeyServer, agent_name: str
) -> None:
    """Redis that accepts connections and never answers (SIGSTOP): with no socket timeout
    on its connections, a request waited on a half-open connection for ever."""
    settings = settings.model_copy(update={"redis_url": own_redis.url, "redis_socket_timeout": 1.0})
    server, task = await serve_api(settings, free_port())
    url = f"http://127.0.0.1:{server.config.port}/agents/recorder-agent/{agent_name}/state"
    try:
        async with httpx.AsyncClient(timeout=30) as web:
            assert (await web.get(url)).status_code == 200  # connected before it hangs
            own_redis.freeze()
            try:
                began = time.monotonic()
                hung = await web.get(url)
                assert hung.status_code == 503 and hung.headers["retry-after"], hung.text
                assert time.monotonic() - began < 5  # one socket timeout, not for ever
            finally:
                own_redis.thaw()
            assert (await web.get(url)).status_code == 200
    finally:
        server.should_exit = True
        await task
