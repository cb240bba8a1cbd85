"""Redeploys that never strand a run: a run of `redeploy_flow` v1 waits for an approval
while its worker process is replaced by one running changed code (`tests/redeploy/*`).
The run completes on the new code, and every step that had completed ran once in all
(executions counted in Redis by step name)."""

from __future__ import annotations

import json
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from temporalio.client import Client

from agents import AgentRuntime, AppRegistry, Settings
from tests.helpers import eventually, start_entry_point, wait_for_status
from tests.redeploy.common import executions_key

BASE = "tests.app"


def modules(version: str) -> str:
    return f"{BASE},tests.redeploy.{version}"


@pytest.fixture
def v1_runtime(redis: Redis, settings: Settings, client: Client) -> AgentRuntime:
    """The test's view of the app as first deployed (it validates `redeploy_flow` params)."""
    registry = AppRegistry.from_modules(modules("v1").split(","))
    return AgentRuntime(redis=redis, registry=registry, settings=settings, temporal=client)


@contextmanager
def worker_process(settings: Settings, version: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_entry_point("worker.py", settings, log, AGENT_MODULES=modules(version))
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # a redeploy stops the old worker gracefully
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def counts(redis: Redis, key: str) -> dict[str, int]:
    return {step: int(n) for step, n in (await redis.hgetall(executions_key(key))).items()}


async def run_across_redeploy(
    runtime: AgentRuntime, settings: Settings, tmp_path: Path, new_version: str, *, paused: bool = False
) -> tuple[Any, dict[str, int], bool]:
    """(the run's result, executions per step, whether clients were told it continued)."""
    agent = runtime.agent("probe-agent", f"r-{uuid.uuid4().hex[:8]}")
    key = uuid.uuid4().hex[:10]
    with worker_process(settings, "v1", tmp_path / "v1.log"):
        run_id = await agent.run_workflow("redeploy_flow", {"key": key})
        await wait_for_status(agent, run_id, "waiting", timeout=60)
        if paused:
            await agent.pause_workflow(run_id)
    assert await counts(runtime.redis, key) == {"a": 1, "b": 1, "c": 1}
    messages = runtime.redis.pubsub()
    await messages.ssubscribe(agent.keys.channel)  # what every API process relays to clients
    with worker_process(settings, new_version, tmp_path / f"{new_version}.log") as proc:
        if paused:
            await agent.resume_workflow(run_id)
        await agent.approve_workflow(run_id, metadata={"by": "qa"})
        info = await wait_for_status(agent, run_id, "complete", "errored", timeout=60)
        assert proc.poll() is None
    assert info.status == "complete", (info.error, (tmp_path / f"{new_version}.log").read_text()[-3000:])
    continued = await statuses_with(messages, "continued", wait=0.2)
    await messages.aclose()
    executed = await counts(runtime.redis, key)
    executed.update({f"{name} (inline)": 1 for name in (await agent.refresh_state())["seen"]})
    return info.result, executed, bool(continued)


DONE_BEFORE = {"a": 1, "b": 1, "c": 1, "inline (inline)": 1}
BEFORE = ["a", "nap", "b", "inline", "c"]


@pytest.mark.parametrize(
    ("version", "before", "ran", "continues"),
    [
        ("top", ["z", *BEFORE], {"z": 1}, True),
        ("middle", ["a", "m", "nap", "b", "inline", "c"], {"m": 1}, True),
        ("end", BEFORE, {"f": 1}, False),  # the history still replays: nothing to continue
        ("removed", ["a", "nap", "inline", "c"], {}, True),
        ("swapped", ["b", "nap", "a", "inline", "c"], {}, True),
        ("renamed", ["a", "nap", "b2", "inline", "c"], {"b2": 1}, True),
    ],
)
async def test_a_run_completes_on_changed_code_and_no_completed_step_runs_again(
    v1_runtime: AgentRuntime,
    settings: Settings,
    tmp_path: Path,
    version: str,
    before: list[str],
    ran: dict[str, int],
    continues: bool,
) -> None:
    got, executed, told = await run_across_redeploy(v1_runtime, settings, tmp_path, version)
    assert got == [*before, {"by": "qa"}, "d", "e", *(["f"] if version == "end" else [])]
    assert executed == {**DONE_BEFORE, "d": 1, "e": 1, **ran}
    assert told is continues


async def test_a_run_paused_across_the_redeploy_resumes_on_the_new_code(
    v1_runtime: AgentRuntime, settings: Settings, tmp_path: Path
) -> None:
    got, executed, told = await run_across_redeploy(v1_runtime, settings, tmp_path, "top", paused=True)
    assert got == ["z", *BEFORE, {"by": "qa"}, "d", "e"]
    assert executed == {**DONE_BEFORE, "z": 1, "d": 1, "e": 1} and told


async def test_a_params_model_the_run_no_longer_fits_ends_it_errored_with_that_error(
    v1_runtime: AgentRuntime, settings: Settings, tmp_path: Path
) -> None:
    agent, run_id = await waiting_on_v1(v1_runtime, settings, tmp_path)
    with worker_process(settings, "params", tmp_path / "params.log"):
        await agent.approve_workflow(run_id)
        info = await wait_for_status(agent, run_id, "complete", "errored", timeout=30)
    assert info.status == "errored" and info.error is not None
    assert info.error["name"] == "ParamsError" and "region" in info.error["message"], info.error


async def test_with_strict_replay_a_stuck_run_shows_its_problem_until_the_old_code_is_back(
    v1_runtime: AgentRuntime, settings: Settings, tmp_path: Path
) -> None:
    agent, run_id = await waiting_on_v1(v1_runtime, settings, tmp_path)
    messages = v1_runtime.redis.pubsub()
    await messages.ssubscribe(agent.keys.channel)
    with worker_process(settings, "strict", tmp_path / "strict.log"):
        await agent.approve_workflow(run_id)
        # Nobody reads the run: the worker's reconciler finds it stuck and tells clients.
        told = await eventually(lambda: statuses_with(messages, "problem"), bool, timeout=30, what="a problem message")
        assert told[0]["workflow_id"] == run_id and told[0]["status"] == "running"
        info = await agent.get_workflow(run_id)
    await messages.aclose()
    assert info is not None and info.status == "running" and info.problem is not None
    assert info.problem["kind"] == "workflow_task_failing" and "Nondeterminism" in info.problem["message"]
    with worker_process(settings, "v1", tmp_path / "v1-again.log"):  # rolled back: the run goes on
        info = await wait_for_status(agent, run_id, "complete", "errored", timeout=60)
    assert info.status == "complete" and info.problem is None


async def statuses_with(messages: Any, field: str, *, wait: float = 0.05) -> list[dict[str, Any]]:
    """The `workflow_status` messages carrying `field`, among those published on the
    agent's channel since the last call."""
    found = []
    while (raw := await messages.get_message(timeout=wait)) is not None:
        if raw["type"] == "smessage":
            message = json.loads(raw["data"])["message"]
            if message.get("type") == "workflow_status" and message.get(field):
                found.append(message)
    return found


async def waiting_on_v1(runtime: AgentRuntime, settings: Settings, tmp_path: Path) -> tuple[Any, str]:
    """(the agent, the run) of a run that v1 took to its approval gate; no worker runs now."""
    agent = runtime.agent("probe-agent", f"r-{uuid.uuid4().hex[:8]}")
    with worker_process(settings, "v1", tmp_path / "v1.log"):
        run_id = await agent.run_workflow("redeploy_flow", {"key": uuid.uuid4().hex[:10]})
        await wait_for_status(agent, run_id, "waiting", timeout=60)
    return agent, run_id


async def test_a_control_sent_while_the_run_fails_on_new_code_reaches_the_run_that_continues_it(
    v1_runtime: AgentRuntime, settings: Settings, client: Client, tmp_path: Path
) -> None:
    """Between "failed on new code" and "continued" (up to the reconciler's 5 s), a
    control answered 409 'has already finished' and was dropped: runs were left waiting
    for an approval that had been refused."""
    from temporalio.client import WorkflowExecutionStatus

    agent = v1_runtime.agent("probe-agent", f"r-{uuid.uuid4().hex[:8]}")
    key = uuid.uuid4().hex[:10]
    with worker_process(settings, "v1", tmp_path / "v1.log"):
        run_id = await agent.run_workflow("redeploy_flow", {"key": key})
        info = await wait_for_status(agent, run_id, "waiting", timeout=60)
    handle = client.get_workflow_handle(info.temporal_workflow_id)
    with worker_process(settings, "top", tmp_path / "top.log"):
        # An event the run does not wait for: its workflow task runs on the new code, and fails.
        await agent.send_workflow_event(run_id, "noise", {})
        await eventually(
            handle.describe, lambda d: d.status == WorkflowExecutionStatus.FAILED, timeout=30, interval=0.02
        )
        await agent.approve_workflow(run_id, metadata={"by": "qa"})  # was: ConflictError, the approval lost
        done = await wait_for_status(agent, run_id, "complete", "errored", timeout=60)
    assert done.status == "complete" and {"by": "qa"} in done.result, done.error
