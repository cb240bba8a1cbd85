"""Durability with real processes killed for real."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from redis.asyncio import Redis
from temporalio.client import Client
from temporalio.worker import Worker

from activities import AgentsPlugin
from activities.demo import executions_key
from agents import AgentRuntime
from tests.helpers import start_entry_point, wait_for_status


async def test_kill_9_worker_mid_run_then_new_worker_completes_without_rerunning_steps(
    runtime: AgentRuntime, client: Client, redis: Redis, agent_name: str, tmp_path: Path
) -> None:
    settings = runtime.settings
    proc = start_entry_point("worker.py", settings, tmp_path / "worker.log")
    try:
        agent = runtime.agent("task-agent", agent_name)
        items = [f"item{i}" for i in range(12)]
        run_id = await agent.run_workflow("process_items", {"items": items, "delay_ms": 250})
        counts_key = executions_key(settings.redis_key_prefix, run_id)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while await redis.hlen(counts_key) < 5:
            assert loop.time() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            await asyncio.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        done_at_kill = await redis.hlen(counts_key)
        assert (await agent.get_workflow(run_id)).status == "running"
    finally:
        if proc.poll() is None:
            proc.kill()

    async with Worker(client, task_queue=settings.task_queue, plugins=[AgentsPlugin(runtime)]):
        info = await wait_for_status(agent, run_id, "complete", "errored", timeout=90)

    assert info.status == "complete"
    assert info.result == {"processed": 12}
    counts = {int(k): int(v) for k, v in (await redis.hgetall(counts_key)).items()}
    assert sorted(counts) == list(range(12))
    # Only the step in flight when the worker died may have started twice; every step
    # that had completed ran exactly once.
    twice = [i for i, n in counts.items() if n > 1]
    assert len(twice) <= 1 and all(counts[i] == 2 for i in twice)
    assert all(i >= done_at_kill - 1 for i in twice)
    assert await agent.refresh_state() == {"task_progress": 1.0}
    # One merge per item, each applied exactly once across the kill: one version each.
    assert agent.state_version == len(items)


async def test_worker_serves_sdk_metrics_and_stops_gracefully_on_sigterm(runtime: AgentRuntime, tmp_path: Path) -> None:
    import httpx

    from devstack import free_port

    log = tmp_path / "worker.log"
    port = free_port()
    proc = start_entry_point("worker.py", runtime.settings, log, WORKER_METRICS_PORT=str(port))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while "worker started" not in log.read_text():
            assert proc.poll() is None and loop.time() < deadline, log.read_text()[-2000:]
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient() as http:
            scraped = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        assert "temporal_" in scraped  # the Temporal SDK's own worker metrics
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert "worker stopping" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()


async def test_worker_exits_non_zero_when_a_start_hook_raises(runtime: AgentRuntime, tmp_path: Path) -> None:
    """A supervisor can only restart what exits: the worker used to wait for ever on its
    reconciler (which ends only on a stop signal), with no poller and no error line."""
    log = tmp_path / "worker.log"
    modules = f"{runtime.settings.agent_modules},tests.failing_start"
    proc = start_entry_point("worker.py", runtime.settings, log, AGENT_MODULES=modules)
    try:
        code = await asyncio.to_thread(proc.wait, 40)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code != 0
    text = log.read_text()
    assert "worker failed" in text and "the start hook failed on purpose" in text, text[-3000:]
