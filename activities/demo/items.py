"""Demo activities: the durable work of `process_items` and `approval`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from temporalio import activity

from activities import ActivityGroup


@dataclass
class ItemInput:
    run_id: str
    """The tracking id of the run (counts are kept per run)."""
    index: int
    item: str
    delay_ms: int = 0


def executions_key(prefix: str, run_id: str) -> str:
    """Hash `index -> times started`, so a user (and the tests) can see that no
    completed step ever ran twice."""
    return f"{prefix}demo:executions:{run_id}"


class DemoActivities(ActivityGroup):
    @activity.defn(name="demo.process_item")
    async def process_item(self, input: ItemInput) -> str:
        await self.redis.hincrby(executions_key(self.settings.redis_key_prefix, input.run_id), str(input.index), 1)
        if input.delay_ms:
            await asyncio.sleep(input.delay_ms / 1000)
        return input.item.upper()

    @activity.defn(name="demo.fetch_records")
    async def fetch_records(self, source: str) -> dict[str, int]:
        """Stands in for reading a remote source: each sync is a new batch of records."""
        batch = await self.redis.incr(f"{self.settings.redis_key_prefix}demo:sync:{source}")
        return {"batch": batch, "records": 10 * batch}

    @activity.defn(name="demo.prepare_approval")
    async def prepare_approval(self, title: str) -> str:
        return f"approval requested: {title}"
