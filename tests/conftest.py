"""Test harness: a real Temporal dev server and a real Valkey server on free ports,
started once per session; every test gets its own agent names and task queues.

With `TEST_REDIS=cluster` (the second pass of `make test`), the Valkey server is a
three-primary cluster with a replica each (`devstack.cluster`) and every process uses
the cluster client (`REDIS_CLUSTER=true`)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from redis.asyncio import Redis
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import api
from activities import AgentsPlugin
from agents import DATA_CONVERTER, AgentRuntime, AppRegistry, Settings, connect_redis, ready_redis
from devstack import DYNAMIC_CONFIG, SEARCH_ATTRIBUTES, ValkeyServer, free_port, temporal_cli
from devstack.cluster import ValkeyCluster
from tests.fake_openai import FakeOpenAI

TEST_MODULES = "tests.app,agents.demo,workflows.demo,activities.demo"
_JS = Path(__file__).parent / "js"


CLUSTER = os.environ.get("TEST_REDIS") == "cluster"


@pytest.fixture(scope="session")
def valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyServer | ValkeyCluster]:
    data = tmp_path_factory.mktemp("valkey")
    server = ValkeyCluster(data_dir=data).start() if CLUSTER else ValkeyServer(data_dir=data).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        data_converter=DATA_CONVERTER,
        search_attributes=[SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES],
        dev_server_log_level="error",
        dev_server_extra_args=[a for k, v in DYNAMIC_CONFIG.items() for a in ("--dynamic-config-value", f"{k}={v}")],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def temporal_address(temporal_env: WorkflowEnvironment) -> str:
    return temporal_env.client.service_client.config.target_host


@pytest.fixture
async def redis(valkey: ValkeyServer) -> AsyncIterator[Redis]:
    client = await ready_redis(connect_redis(Settings(redis_url=valkey.url, redis_cluster=CLUSTER)))
    yield client
    await client.aclose()


@pytest.fixture
def settings(valkey: ValkeyServer, temporal_address: str) -> Settings:
    return Settings(
        temporal_address=temporal_address,
        redis_url=valkey.url,
        redis_cluster=CLUSTER,
        redis_wait_replicas=1 if CLUSTER else 0,  # acknowledged writes survive a failover
        task_queue=f"tq-{uuid.uuid4().hex[:12]}",
        agent_modules=TEST_MODULES,
    )


@pytest.fixture
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
def runtime(redis: Redis, settings: Settings, client: Client) -> AgentRuntime:
    registry = AppRegistry.from_modules(settings.module_list)
    return AgentRuntime(redis=redis, registry=registry, settings=settings, temporal=client)


@pytest.fixture
async def worker(runtime: AgentRuntime, client: Client) -> AsyncIterator[Worker]:
    """An in-process worker on the test's own task queue."""
    async with Worker(client, task_queue=runtime.settings.task_queue, plugins=[AgentsPlugin(runtime)]) as running:
        yield running


@pytest.fixture(scope="session")
def node_client() -> Path:
    """Install the pinned npm packages (`npm ci` from the lockfile) once."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "Node.js and npm are needed for this test (Debian: apt-get install nodejs npm)"
    marker = _JS / "node_modules" / ".package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < (_JS / "package-lock.json").stat().st_mtime:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=_JS, check=True, timeout=600)
    return _JS / "agent_client_check.mjs"


@pytest.fixture
def agent_name() -> str:
    return f"a-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def test_output() -> Path:
    path = Path(__file__).parent.parent / "test-output"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API app (its own lifespan, clients and runtime) on the test's task queue."""
    application: FastAPI = api.app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


@pytest.fixture
async def api_server(settings: Settings) -> AsyncIterator[str]:
    """The API served by uvicorn on a free port (real sockets, for WebSocket tests)."""
    from devstack import free_port

    port = free_port()
    server, task = await serve_api(settings, port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def two_apis(settings: Settings, tmp_path: Path) -> AsyncIterator[list[str]]:
    """Two API processes of their own, as a deployment behind a load balancer has."""
    from devstack import free_port
    from tests.helpers import start_api_process

    ports = [free_port(), free_port()]
    procs: list[subprocess.Popen[bytes]] = []

    async def start(i: int, port: int) -> None:
        procs.append(await start_api_process(settings, port, tmp_path / f"api{i}.log"))

    try:
        # Both at once: two processes importing the app take little more than one.
        await asyncio.gather(*(start(i, port) for i, port in enumerate(ports)))
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


async def serve_api(settings: Settings, port: int) -> tuple[Any, Any]:
    """Start the API (as `api.main` configures it) in this process; (server, task)."""
    import asyncio

    import uvicorn

    server = uvicorn.Server(api.server_config(settings, host="127.0.0.1", port=port))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the API server did not start"
        await asyncio.sleep(0.02)
    return server, task


@pytest.fixture
async def fake_openai(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeOpenAI]:
    """The fake model server; `@pytest.mark.parametrize("fake_openai", [{...}], indirect=True)` sets its options."""
    fake = FakeOpenAI(**getattr(request, "param", {}))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    monkeypatch.setenv("FAKE_OPENAI_URL", f"http://127.0.0.1:{port}/v1")
    yield fake
    server.should_exit = True
    await task
