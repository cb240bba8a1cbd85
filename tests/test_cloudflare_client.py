"""Cloudflare's own client (npm `agents`, `AgentClient` from `agents/client`, run by Node
with `ws`) against our server, unchanged."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).parent / "js"


@pytest.fixture(scope="session")
def node_client() -> Path:
    """Install the pinned npm packages (`npm ci` from the lockfile) once."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "Node.js and npm are needed for this test (Debian: apt-get install nodejs npm)"
    marker = JS / "node_modules" / ".package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < (JS / "package-lock.json").stat().st_mtime:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS, check=True, timeout=600)
    return JS / "agent_client_check.mjs"


@pytest.mark.usefixtures("worker")
async def test_the_real_agents_client_works_against_our_server(api_server: str, node_client: Path, agent_name: str) -> None:
    host = api_server.removeprefix("http://")
    proc = await asyncio.create_subprocess_exec(
        "node", str(node_client), host, agent_name, cwd=JS,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 90)
    out = json.loads(stdout.decode().strip().splitlines()[-1])
    assert out["errors"] == [], out["errors"]

    # connects and receives identity (and the MCP frame) in the agent's kebab-case name
    assert out["identified"] is True
    assert (out["agent"], out["name"]) == ("task-agent", agent_name)
    assert out["frames"][:2] == ["cf_agent_identity", "cf_agent_mcp_servers"]
    # calls a callable method and gets the result; unknown methods reject
    assert out["pong"] == {"workflows": [], "total": 0, "next_cursor": None}
    assert "not callable" in out["rpcError"]
    # state set by one client reaches the second (as a server update), not an echo
    assert out["stateUpdatesB"][0] == {"state": {"theme": "dark", "from": "a"}, "source": "server"}
    # progress broadcasts of a running process_items, then completion
    progress = [m["progress"]["processed"] for m in out["messages"] if m["type"] == "workflow_progress"]
    assert progress == [1, 2, 3, 4]
    assert out["messages"][-1] == {"type": "workflow_status", "workflow_id": out["runId"],
                                   "workflow_name": "process_items", "status": "complete",
                                   "result": {"processed": 4}}  # fmt: skip
    assert out["finalStateA"] == {"theme": "dark", "from": "a", "task_progress": 1.0}
