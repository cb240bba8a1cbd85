"""The demo app's workflows end to end against real Temporal and Redis."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from activities.demo import executions_key
from agents import AgentRuntime, ValidationError
from tests.helpers import wait_for_status


async def test_process_items_completes_with_progress_and_state(
    runtime: AgentRuntime, worker: object, redis: Redis, agent_name: str
) -> None:
    agent = runtime.agent("task-agent", agent_name)
    run_id = await agent.run_workflow("process_items", {"items": ["a", "b", "c", "d"]})

    info = await wait_for_status(agent, run_id, "complete", "errored")

    assert info.status == "complete"
    assert info.result == {"processed": 4}
    assert info.progress == {"processed": 4, "total": 4, "fraction": 1.0}
    assert info.completed_at is not None and info.completed_at >= info.created_at
    assert (await agent.refresh_state()) == {"task_progress": 1.0}
    counts = await redis.hgetall(executions_key(runtime.settings.redis_key_prefix, run_id))
    assert counts == {"0": "1", "1": "1", "2": "1", "3": "1"}


async def test_params_are_validated_before_anything_starts(runtime: AgentRuntime, agent_name: str) -> None:
    agent = runtime.agent("task-agent", agent_name)
    with pytest.raises(ValidationError) as caught:
        await agent.run_workflow("process_items", {"items": "not a list"}, id="wf_bad")
    assert caught.value.details["errors"][0]["loc"] == ["items"]
    assert await agent.get_workflow("wf_bad") is None


class _FlakyServer:
    """A local HTTP server (its own thread) that answers 503 to the first `failures` GETs."""

    def __init__(self, failures: int, final_status: int = 200) -> None:
        import http.server
        import threading

        outer = self
        self.hits = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.hits += 1
                status = 503 if outer.hits <= failures else final_status
                body = f"hit {outer.hits}".encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/data"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.mark.usefixtures("worker")
async def test_call_api_retries_a_flaky_server_until_it_answers(runtime: AgentRuntime, agent_name: str) -> None:
    server = _FlakyServer(failures=2)
    try:
        agent = runtime.agent("task-agent", agent_name)
        run_id = await agent.run_workflow("call_api", {"url": server.url, "retry_delay": "100 ms"})
        info = await wait_for_status(agent, run_id, "complete", "errored")
    finally:
        server.close()
    assert info.status == "complete"
    assert info.result == {"status": 200, "attempt": 3, "body": "hit 3"}
    assert server.hits == 3


@pytest.mark.usefixtures("worker")
async def test_call_api_fails_at_once_on_a_client_error(runtime: AgentRuntime, agent_name: str) -> None:
    server = _FlakyServer(failures=0, final_status=404)
    try:
        agent = runtime.agent("task-agent", agent_name)
        run_id = await agent.run_workflow("call_api", {"url": server.url, "retry_delay": "100 ms"})
        info = await wait_for_status(agent, run_id, "errored", "complete")
    finally:
        server.close()
    assert info.error == {"name": "HttpClientError", "message": f"{server.url} answered 404"}
    assert server.hits == 1
