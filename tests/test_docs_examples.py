"""The steering guide's examples (docs/how-to/steering.md, once the README's), run as
written (shell and Python) against a real API process and worker, so they cannot drift
from what the API does."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from agents import AgentRuntime, Settings
from devstack import free_port
from tests.helpers import ROOT, start_api_process, wait_for_status

pytestmark = pytest.mark.usefixtures("worker")


def _page_blocks(page: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (ROOT / "docs" / page).read_text(), flags=re.S)


async def _api(settings: Settings, tmp_path: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    return f"http://127.0.0.1:{port}", await start_api_process(settings, port, tmp_path / "api.log")


async def test_the_curl_examples_answer_as_the_comments_say(
    settings: Settings, runtime: AgentRuntime, agent_name: str, tmp_path: Path
) -> None:
    assert shutil.which("curl"), "curl is needed to run the README's shell examples"
    (block,) = _page_blocks("how-to/steering.md", "sh")
    base, api = await _api(settings, tmp_path)
    agent = runtime.agent("task-agent", agent_name)
    lines = (
        block.replace("http://127.0.0.1:8000", base)
        .replace("/alice", f"/{agent_name}")
        .replace("\\\n", "")
        .splitlines()
    )
    setup = [line for line in lines if not line.startswith("curl")]
    try:
        for line in lines:
            if not line.startswith("curl"):
                continue
            if "/pause" in line:  # as a person would: once the run shows it is waiting
                await wait_for_status(agent, "deploy-1", "waiting")
            script = "\n".join([*setup, line])
            done = await asyncio.to_thread(
                subprocess.run, ["bash", "-c", script], capture_output=True, text=True, timeout=30
            )
            answer = json.loads(done.stdout)
            assert not isinstance(answer.get("error"), str), (line, answer)  # an error is {"error": code, "message"}
    finally:
        api.kill()
        api.wait(10)
    info = await wait_for_status(agent, "deploy-1", "complete")
    assert info.metadata == {"team": "ops"} and info.result["metadata"] == {"by": "ann"}
    assert (await agent.refresh_state())["theme"] == "dark"


async def test_the_python_example_runs_as_written(
    settings: Settings, runtime: AgentRuntime, agent_name: str, tmp_path: Path
) -> None:
    (block,) = _page_blocks("how-to/steering.md", "python")
    base, api = await _api(settings, tmp_path)
    source = block.replace("http://127.0.0.1:8000", base).replace('"alice"', f'"{agent_name}"')
    namespace: dict[str, object] = {}
    try:
        exec(compile("async def example():\n" + textwrap.indent(source, "    "), "README.md", "exec"), namespace)
        await namespace["example"]()  # type: ignore[operator]
    finally:
        api.kill()
        api.wait(10)
    agent = runtime.agent("task-agent", agent_name)
    page = await agent.get_workflows(metadata={"team": "ops"})
    assert page.total == 1
    await wait_for_status(agent, page.workflows[0].workflow_id, "complete")
    assert (await agent.refresh_state())["theme"] == "dark"
