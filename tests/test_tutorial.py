"""The tutorial (docs/tutorial.md) as a newcomer follows it: its app (examples/greeter,
which the page includes as it is) loaded by a real worker and API, and its shell commands
run as written, each answering what the comment under it says."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

from agents import Settings
from devstack import free_port
from tests.helpers import ROOT, eventually, start_api_process, start_entry_point

APP = {"AGENT_MODULES": "greeter.agents", "PYTHONPATH": f"{ROOT}:{ROOT / 'examples' / 'greeter'}"}


def _commands() -> list[tuple[str, str]]:
    """(command, what its answer must contain) from the tutorial's "Talk to it" block."""
    page = (ROOT / "docs" / "tutorial.md").read_text()
    block = re.findall(r"```sh\n(.*?)```", page.split("## 4. Talk to it", 1)[1], flags=re.S)[0]
    lines = block.replace("\\\n", "").splitlines()
    return [(line, expect.removeprefix("# ")) for line, expect in zip(lines[::2], lines[1::2], strict=True)]


async def test_the_tutorials_commands_answer_as_its_comments_say(settings: Settings, tmp_path: Path) -> None:
    assert shutil.which("curl"), "curl is needed to run the tutorial's commands"
    port = free_port()
    worker = start_entry_point("worker.py", settings, tmp_path / "worker.log", WORKER_METRICS_PORT="0", **APP)
    api = await start_api_process(settings, port, tmp_path / "api.log", **APP)
    base = f"http://127.0.0.1:{port}"
    try:
        for command, expect in _commands():
            command = command.replace("http://127.0.0.1:8000", base)

            async def answer(command: str = command) -> str:
                done = await asyncio.to_thread(
                    subprocess.run, ["bash", "-c", command], capture_output=True, text=True, timeout=30
                )
                return done.stdout

            # As a person would: ask again until the run gets there (waiting, complete).
            said = await eventually(answer, lambda out, e=expect: e in out, timeout=30, what=expect)
            assert expect in said, (command, said, (tmp_path / "worker.log").read_text()[-2000:])
    finally:
        for proc in (api, worker):
            proc.terminate()
            proc.wait(20)


def test_the_tutorial_shows_the_code_the_test_runs() -> None:
    """The page includes examples/greeter/greeter/agents.py (a snippet), not a copy."""
    page = (ROOT / "docs" / "tutorial.md").read_text()
    assert '--8<-- "examples/greeter/greeter/agents.py"' in page.splitlines()
