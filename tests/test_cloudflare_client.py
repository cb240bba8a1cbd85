"""Cloudflare's own client (npm `agents`, `AgentClient` from `agents/client`, run by Node
with `ws`) against our server, unchanged."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

JS = Path(__file__).parent / "js"


@pytest.mark.usefixtures("worker")
async def test_the_real_agents_client_works_against_our_server(
    api_server: str, node_client: Path, agent_name: str
) -> None:
    host = api_server.removeprefix("http://")
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(node_client),
        host,
        agent_name,
        cwd=JS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
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
    assert out["messages"][-1] == {
        "type": "workflow_status",
        "workflow_id": out["runId"],
        "workflow_name": "process_items",
        "status": "complete",
        "result": {"processed": 4},
    }
    assert out["finalStateA"] == {"theme": "dark", "from": "a", "task_progress": 1.0}
