"""On a real Valkey cluster (three primaries, a replica each; `TEST_REDIS=cluster`, the
second pass of `make test`): an agent lives on one shard, its messages stay there, and a
primary killed with SIGKILL mid-run fails over without losing the run or its clients."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from redis import Redis as SyncRedis

from agents import AgentRuntime
from agents.client import AgentClient
from tests.conftest import CLUSTER
from tests.helpers import eventually, polled, through_outage

pytestmark = [
    pytest.mark.skipif(not CLUSTER, reason="runs in the cluster pass: TEST_REDIS=cluster"),
    pytest.mark.usefixtures("worker"),
]


def shard_channels(port: int) -> list[str]:
    with SyncRedis(port=port, decode_responses=True) as node:
        return node.execute_command("PUBSUB", "SHARDCHANNELS")


async def test_an_agent_lives_on_one_shard_and_its_messages_stay_there(
    valkey: Any, api_server: str, runtime: AgentRuntime, agent_name: str
) -> None:
    agent = runtime.agent("recorder-agent", agent_name)
    await agent.set_state({"counter": 1})
    owner = valkey.primary_for(agent.keys.state)
    assert owner is valkey.primary_for(agent.keys.meta) is valkey.primary_for(agent.keys.channel)
    async with AgentClient(api_server, "recorder-agent", agent_name) as client:
        assert client.state == {"counter": 1}
        holders = [node.port for node in valkey.nodes if agent.keys.channel in shard_channels(node.port)]
        assert holders == [owner.port]  # subscribed on the agent's shard alone, not on every node
        await agent.set_state({"counter": 2})
        await eventually(polled(lambda: client.state), lambda s: s == {"counter": 2}, what="relayed")


async def test_a_primary_killed_mid_run_fails_over_and_the_run_and_clients_converge(
    valkey: Any, api_server: str, runtime: AgentRuntime, agent_name: str
) -> None:
    agent = runtime.agent("task-agent", agent_name)
    async with (
        AgentClient(api_server, "task-agent", agent_name, backoff=(0.2, 1.0)) as a,
        AgentClient(api_server, "task-agent", agent_name, backoff=(0.2, 1.0)) as b,
    ):
        run_id = await agent.run_workflow("process_items", {"items": [f"i{n}" for n in range(10)], "delay_ms": 300})
        await eventually(agent.refresh_state, lambda s: s.get("task_progress", 0) > 0, what="the run under way")
        await agent.merge_state({"note": "written just before the kill"})  # acknowledged after WAIT 1
        before = (await agent.refresh_state())["task_progress"]
        victim = valkey.primary_for(agent.keys.state)
        victim.kill()  # kill -9 the primary holding the agent
        # Until the replica is promoted (a few seconds), this test's own reads fail and
        # the API answers 503 (never a 500); the run's steps and writes retry on Temporal.
        statuses: set[int] = set()
        async with httpx.AsyncClient(base_url=api_server, timeout=10) as web:

            async def finished() -> Any:
                statuses.add((await web.get(f"/agents/task-agent/{agent_name}/state")).status_code)
                return await through_outage(lambda: agent.get_workflow(run_id))()

            info = await eventually(
                finished, lambda i: i is not None and i.status in ("complete", "errored"), timeout=90, what="finished"
            )
        assert statuses <= {200, 503}, statuses
        assert info.status == "complete" and info.result == {"processed": 10}
        final = await agent.refresh_state()
        assert valkey.primary_for(agent.keys.state) is not victim  # its replica took over
        assert final["task_progress"] == 1.0 and final["task_progress"] >= before
        assert final["note"] == "written just before the kill"  # REDIS_WAIT_REPLICAS=1: not lost
        for client in (a, b):  # both reconnect to the promoted replica's shard and resync
            await eventually(polled(lambda c=client: c.state), lambda s: s == final, timeout=30, what="converged")
    victim.start()  # back, as a replica of the promoted one: the cluster whole for later tests
    valkey.wait_formed()
