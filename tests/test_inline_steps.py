"""Inline step bodies (`step.do(name, closure)`), as Cloudflare writes steps: real I/O to
a local HTTP server that counts hits, a worker killed with SIGKILL after the step, and
retries of a failing closure."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from activities import AgentsPlugin
from agents import AgentRuntime
from tests.helpers import eventually, polled, start_entry_point, wait_for_status
from tests.test_http_tracking import until


class HitCounter:
    """A local HTTP server: answers each GET with how many it has had, after failing the
    first `fail` of them with a 500."""

    def __init__(self, fail: int = 0) -> None:
        self.hits = 0
        self.fail = fail

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        self.hits += 1
        status = "500 Oops" if self.hits <= self.fail else "200 OK"
        writer.write(f"HTTP/1.0 {status}\r\n\r\n{self.hits}".encode())
        await writer.drain()
        writer.close()


async def inline_markers(client: Client, temporal_id: str) -> int:
    """How many inline steps the run's history records as done (local activity markers)."""
    count = 0
    async for event in client.get_workflow_handle(temporal_id).fetch_history_events():
        if event.HasField("marker_recorded_event_attributes"):
            data = event.marker_recorded_event_attributes.details.get("data")
            if data is not None and any(b"agents.inline_step" in p.data for p in data.payloads):
                count += 1
    return count


@pytest.fixture
async def counter(request: pytest.FixtureRequest) -> AsyncIterator[tuple[HitCounter, int]]:
    server_state = HitCounter(fail=getattr(request, "param", 0))
    server = await asyncio.start_server(server_state.handle, "127.0.0.1", 0)
    yield server_state, server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_an_inline_closure_runs_once_even_when_the_worker_is_killed_after_it(
    runtime: AgentRuntime, client: Client, counter: tuple[HitCounter, int], agent_name: str, tmp_path: Path
) -> None:
    hits, port = counter
    agent = runtime.agent("recorder-agent", agent_name)
    proc = start_entry_point("worker.py", runtime.settings, tmp_path / "worker.log")
    try:
        run_id = await agent.run_workflow(
            "inline_flow", {"host": "127.0.0.1", "port": port, "label": "L", "wait": True}
        )
        info = await wait_for_status(agent, run_id, "waiting", timeout=60)  # past both inline steps
        # A local activity's result is durable once its workflow task completes, a moment
        # after the status write above; a kill before that re-runs the task, as Temporal says.
        await eventually(
            lambda: inline_markers(client, info.temporal_workflow_id),
            lambda n: n >= 2,
            what="both inline steps recorded in history",
        )
        assert hits.hits == 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    async with Worker(client, task_queue=runtime.settings.task_queue, plugins=[AgentsPlugin(runtime)]):
        await agent.send_workflow_event(run_id, "go")
        info = await wait_for_status(agent, run_id, "complete", "errored", timeout=60)
    assert info.status == "complete", info.error
    # The closure's result (and the captured label) came from history on the new worker:
    # the server was hit once; the agent call in the second inline step returned 1 + 100.
    assert info.result == {"first": {"hits": 1, "label": "L"}, "saved": 101}
    assert hits.hits == 1


@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize("counter", [2], indirect=True)
async def test_a_failing_inline_closure_retries_as_retries_says(
    runtime: AgentRuntime, counter: tuple[HitCounter, int], agent_name: str
) -> None:
    hits, port = counter
    agent = runtime.agent("recorder-agent", agent_name)
    gave_up = await agent.run_workflow("inline_flow", {"host": "127.0.0.1", "port": port, "retries": 1})
    info = await wait_for_status(agent, gave_up, "complete", "errored")
    assert info.status == "errored" and info.error == {"name": "RuntimeError", "message": "the server answered 500"}
    assert hits.hits == 2  # the first attempt and one retry
    recovered = await agent.run_workflow("inline_flow", {"host": "127.0.0.1", "port": port, "retries": 2})
    info = await wait_for_status(agent, recovered, "complete", "errored")
    assert info.status == "complete" and info.result["first"]["hits"] == 3
    await eventually(lambda: asyncio.sleep(0, hits.hits), lambda n: n == 3, what="no extra hit")


@pytest.mark.usefixtures("worker")
async def test_parallel_steps_a_step_context_and_a_dynamic_retry_delay(runtime: AgentRuntime, agent_name: str) -> None:
    """Three `step.do("part")` at once (asyncio.gather): numbered in call order, each run
    once; a body taking `ctx` gets its name, count, attempt and config; a delay function
    retries the errors it names and gives up on the others (None)."""
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("step_features_flow", {})
    result = (await wait_for_status(agent, run_id, "complete")).result
    assert result["parts"] == [[0, "part", 1, 1], [1, "part", 2, 1], [2, "part", 3, 1]]
    assert result["ran"] == {"part0": 1, "part1": 1, "part2": 1}
    assert result["flaky"] == {
        "attempt": 3,
        "config": {"retries": {"limit": 5, "delay": "dynamic", "backoff": "exponential"}, "timeout": 600.0},
    }
    assert result["fatal_tries"] == 1  # the delay function said None: given up at once


def _journal(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.usefixtures("worker")
async def test_a_failing_run_undoes_its_completed_steps_newest_first(
    runtime: AgentRuntime, agent_name: str, tmp_path: Path
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    path = tmp_path / "saga"
    run_id = await agent.run_workflow("saga_flow", {"path": str(path)})
    failed = await wait_for_status(agent, run_id, "errored")
    assert failed.error == {"name": "OutOfStock", "message": "out of stock"}
    assert _journal(path) == [
        "do-a",
        "do-b",
        "do-c",
        "do-d",  # no undo registered: nothing to undo
        "undo-c: out of stock",
        "undo-b: out of stock",
        "undo-a: out of stock",
    ]


async def test_a_worker_killed_between_two_undos_leaves_each_undone_once(
    runtime: AgentRuntime, client: Client, agent_name: str, tmp_path: Path
) -> None:
    """The undo of `c` is done and `b`'s waits at a gate when the worker is SIGKILLed: the
    next worker undoes `b` and `a`, and not `c` again."""
    agent = runtime.agent("recorder-agent", agent_name)
    path, gate = tmp_path / "saga", tmp_path / "go"
    proc = start_entry_point("worker.py", runtime.settings, tmp_path / "worker.log")
    try:
        run_id = await agent.run_workflow("saga_flow", {"path": str(path), "gate": str(gate)})
        await eventually(polled(lambda: _journal(path)), lambda j: "undo-c: out of stock" in j, what="c undone")
        await asyncio.sleep(0.3)  # b's undo is waiting at the gate
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    gate.touch()
    async with Worker(client, task_queue=runtime.settings.task_queue, plugins=[AgentsPlugin(runtime)]):
        await wait_for_status(agent, run_id, "errored", timeout=60)
    undone = [line.split(":")[0] for line in _journal(path) if line.startswith("undo")]
    assert undone == ["undo-c", "undo-b", "undo-a"]


@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize("how", ["rollback", "rollback-while-paused", "plain"])
async def test_terminate_with_rollback_undoes_the_completed_steps_then_says_terminated(
    http: httpx.AsyncClient, client: Client, agent_name: str, tmp_path: Path, how: str
) -> None:
    """Cloudflare's `terminate({rollback: true})` over HTTP: the run waiting after three
    steps with undos is cancelled, undoes them newest first (given the reason), then its
    row says terminated (Temporal: cancelled). A paused run is undone too; a plain
    terminate undoes nothing."""
    url = f"/agents/recorder-agent/{agent_name}/workflows"
    path = tmp_path / "saga"
    started = await http.post(url, json={"workflow": "saga_flow", "params": {"path": str(path), "hold": True}})
    run = started.json()
    row = f"{url}/{run['workflow_id']}"
    await until(http, row, "waiting")
    if how == "rollback-while-paused":
        assert (await http.post(f"{row}/pause")).json()["status"] == "paused"
    body = {"reason": "customer cancelled", "rollback": how != "plain"}
    answer = await http.post(f"{row}/terminate", json=body)
    assert answer.status_code == 200, answer.text
    ended = await until(http, row, "terminated")
    assert ended["error"] is None and ended["result"] is None
    done = ["do-a", "do-b", "do-c", "do-d"]
    if how == "plain":
        assert _journal(path) == done
        return
    assert answer.json()["status"] in ("waiting", "paused", "terminated")  # as it was when the cancel was sent
    assert _journal(path) == [*done, *(f"undo-{x}: customer cancelled" for x in "cba")]
    handle = client.get_workflow_handle(run["temporal_workflow_id"])

    async def status() -> WorkflowExecutionStatus | None:
        return (await handle.describe()).status

    # The run reports itself terminated, then ends: Temporal says so a moment later.
    await eventually(status, lambda s: s == WorkflowExecutionStatus.CANCELED, what="the run cancelled in Temporal")
    assert (await http.post(f"{row}/terminate", json=body)).status_code == 409
