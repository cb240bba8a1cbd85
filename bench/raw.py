"""The physical baseline: the same work written directly against `temporalio` and Redis,
no agent layer. Each effect the framework makes is done here by hand with one call:
progress is a Redis PUBLISH from a local activity, a state write is an HSET + PUBLISH
activity, the completion record an HSET + PUBLISH activity."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

with workflow.unsafe.imports_passed_through():
    from bench.raw_activities import Fire, ItemWork, Publish, RawActivities, StateWrite

TIMEOUT = timedelta(seconds=30)


def same_search_attributes(agent_name: str) -> TypedSearchAttributes:
    """What our API puts on a run so Temporal UI can find it by agent, written by hand."""
    keys = (SearchAttributeKey.for_keyword(n) for n in ("AgentType", "AgentName", "AgentWorkflow"))
    return TypedSearchAttributes(
        [SearchAttributePair(k, v) for k, v in zip(keys, ("bench-agent", agent_name, "approval_probe"), strict=True)]
    )


def same_input(agent_name: str, tracking_id: str) -> dict[str, Any]:
    """The input our API starts an `approval_probe` run with, as plain JSON."""
    return {
        "params": {"count": 1},
        "agent": {"type": "bench-agent", "name": agent_name},
        "tracking_id": tracking_id,
        "metadata": {},
        "carried": None,
        "kind": "agent-workflow/v1",
    }


@dataclass
class ItemsInput:
    name: str
    items: list[str]
    delay_ms: int = 0


@workflow.defn(name="raw_process_items")
class RawProcessItems:
    """`process_items` by hand: per item a step, a progress publish and a state write;
    then the completion record."""

    @workflow.run
    async def run(self, input: ItemsInput) -> dict[str, int]:
        run_id, total = workflow.info().workflow_id, len(input.items)
        channel, state = f"raw:{input.name}:events", f"raw:{input.name}:state"
        for index, item in enumerate(input.items):
            await workflow.execute_activity(
                RawActivities.process_item,
                ItemWork(run_id, index, item, input.delay_ms),
                start_to_close_timeout=TIMEOUT,
            )
            progress = {"processed": index + 1, "total": total, "fraction": (index + 1) / total}
            await workflow.execute_local_activity(
                RawActivities.publish, Publish(channel, json.dumps(progress)), start_to_close_timeout=TIMEOUT
            )
            await workflow.execute_activity(
                RawActivities.write_state,
                StateWrite(state, "task_progress", json.dumps(progress["fraction"]), channel),
                start_to_close_timeout=TIMEOUT,
            )
        result = {"processed": total}
        await workflow.execute_activity(
            RawActivities.write_state,
            StateWrite(f"raw:{input.name}:runs", run_id, json.dumps(result), channel),
            start_to_close_timeout=TIMEOUT,
        )
        return result


@workflow.defn(name="raw_floor_items")
class RawFloorItems:
    """The floor: one activity per item and nothing else, on the SDK's defaults. What a
    durable step costs on this Temporal server before anything is done with its result."""

    @workflow.run
    async def run(self, input: ItemsInput) -> dict[str, int]:
        run_id = workflow.info().workflow_id
        for index, item in enumerate(input.items):
            await workflow.execute_activity(
                RawActivities.process_item,
                ItemWork(run_id, index, item, input.delay_ms),
                start_to_close_timeout=TIMEOUT,
            )
        return {"processed": len(input.items)}


@dataclass
class ProbeInput:
    channel: str
    count: int


@workflow.defn(name="raw_progress_probe")
class RawProgressProbe:
    @workflow.run
    async def run(self, input: ProbeInput) -> int:
        for i in range(input.count):
            await workflow.execute_activity(RawActivities.now, i, start_to_close_timeout=TIMEOUT)
            stamp = workflow.now().timestamp()
            await workflow.execute_local_activity(
                RawActivities.publish,
                Publish(input.channel, json.dumps({"i": i, "t": stamp})),
                start_to_close_timeout=TIMEOUT,
            )
        return input.count


@workflow.defn(name="raw_merge_probe")
class RawMergeProbe:
    @workflow.run
    async def run(self, input: ProbeInput) -> int:
        for i in range(input.count):
            await workflow.execute_activity(RawActivities.now, i, start_to_close_timeout=TIMEOUT)
            stamp = workflow.now().timestamp()
            await workflow.execute_activity(
                RawActivities.write_state,
                StateWrite(f"{input.channel}:state", "probe", json.dumps({"i": i, "t": stamp}), input.channel),
                start_to_close_timeout=TIMEOUT,
            )
        return input.count


@workflow.defn(name="raw_approval_probe")
class RawApprovalProbe:
    def __init__(self) -> None:
        self.approvals = 0

    @workflow.signal
    def approve(self) -> None:
        self.approvals += 1

    @workflow.run
    async def run(self, count: int) -> list[float]:
        resumed = []
        for i in range(count):
            await workflow.wait_condition(lambda i=i: self.approvals > i)
            resumed.append(await workflow.execute_activity(RawActivities.now, i, start_to_close_timeout=TIMEOUT))
        return resumed


@workflow.defn(name="raw_timer_call")
class RawTimerCall:
    """A one-shot as a raw `temporalio` user writes it: a workflow started with a start
    delay that runs one activity."""

    @workflow.run
    async def run(self, fire: Fire) -> None:
        await workflow.execute_activity(RawActivities.fire, fire, start_to_close_timeout=TIMEOUT)


RAW_WORKFLOWS = [RawProcessItems, RawFloorItems, RawProgressProbe, RawMergeProbe, RawApprovalProbe, RawTimerCall]
