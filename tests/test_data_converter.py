"""The data converter keeps the pydantic adapters of passed-through types for the process
(agents/control/converter.py): checked in real sandboxed runs on a real Temporal server,
as the SDK makes a new payload converter for every run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxRestrictions

from activities._sandbox import AgentsSandboxRunner
from agents import DATA_CONVERTER, PASSTHROUGH
from agents.control import converter
from workflows.contracts import AgentRef


@dataclass
class LocalInput:
    """A type of a sandboxed module: a new class in every run."""

    text: str


@workflow.defn(name="converter.shared")
class SharedInputWorkflow:
    @workflow.run
    async def run(self, ref: AgentRef) -> str:
        return f"{ref.agent_type}/{ref.name}"


@workflow.defn(name="converter.local")
class LocalInputWorkflow:
    @workflow.run
    async def run(self, given: LocalInput) -> str:
        return given.text


async def test_adapters_of_passed_through_types_are_built_once_per_process(client: Client) -> None:
    assert client.data_converter.payload_converter_class is DATA_CONVERTER.payload_converter_class
    queue = f"converter-{uuid.uuid4().hex[:8]}"
    runner = AgentsSandboxRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH))
    converter._adapter.cache_clear()
    async with Worker(
        client, task_queue=queue, workflows=[SharedInputWorkflow, LocalInputWorkflow], workflow_runner=runner
    ):
        for n in range(3):
            ref = AgentRef("task-agent", f"a{n}")
            assert await client.execute_workflow(
                SharedInputWorkflow.run, ref, id=f"{queue}-s{n}", task_queue=queue
            ) == (f"task-agent/a{n}")
            given = LocalInput(f"t{n}")
            assert await client.execute_workflow(
                LocalInputWorkflow.run, given, id=f"{queue}-l{n}", task_queue=queue
            ) == (f"t{n}")
    info = converter._adapter.cache_info()
    # Three runs read an AgentRef: one adapter built, then reused. The sandboxed type
    # (a new class each run) never entered the process-wide cache.
    assert (info.misses, info.hits, info.currsize) == (1, 2, 1)
