"""Structured logs: a bridge activity's line carries agent, workflow id, run id and step."""

from __future__ import annotations

import io
import json
import logging

import pytest

from agents import AgentRuntime
from agents.core.logging import configure_logging
from tests.helpers import wait_for_status


@pytest.mark.usefixtures("worker")
async def test_activity_logs_carry_agent_workflow_run_and_step(runtime: AgentRuntime, agent_name: str) -> None:
    configure_logging(json=True)
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    try:
        agent = runtime.agent("task-agent", agent_name)
        run_id = await agent.run_workflow("process_items", {"items": ["a"]})
        info = await wait_for_status(agent, run_id, "complete", "errored")
    finally:
        root.removeHandler(handler)

    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    reported = [line for line in lines if line.get("event") == "run reported" and line.get("tracking_id") == run_id]
    assert len(reported) == 1
    line = reported[0]
    assert line["agent"] == f"task-agent/{agent_name}"
    assert line["workflow_id"] == info.temporal_workflow_id
    assert line["run_id"]
    assert line["step"] == "report_complete"
    assert line["level"] == "info"
