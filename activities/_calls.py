"""Activities of the framework's call workflows (`workflows._calls`): a scheduled
method call, and the steps of an agent's queue. Each call runs the agent's method in its
turn; raising makes Temporal try again with backoff, as the workflow's policy says."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from agents import Agent, AgentRuntime, ValidationError
from agents.bridge import SKIPPED, run_callback
from workflows.contracts import AgentRef, Bridge, MethodCallInput, QueuedCallRef

log = structlog.get_logger("agents.calls")


@contextlib.contextmanager
def _bound(agent: AgentRef, **fields: Any) -> Iterator[None]:
    with structlog.contextvars.bound_contextvars(agent=f"{agent.agent_type}/{agent.name}", **fields):
        yield


class CallActivities:
    def __init__(self, runtime: AgentRuntime) -> None:
        self._rt = runtime

    def all(self) -> list[Any]:
        return [self.call_method, self.forget_call, self.next_queued, self.run_queued, self.drop_queued]

    def _agent(self, ref: AgentRef) -> Agent[Any]:
        return self._rt.agent(ref.agent_type, ref.name)

    async def _run(self, agent: Agent[Any], method: str, load: Any) -> bool:
        """Run the call in the agent's turn; False if it was cancelled (or done) meanwhile."""
        try:
            return await run_callback(agent, method, load) is not SKIPPED
        except ValidationError as err:  # the method is gone (a redeploy renamed it)
            raise ApplicationError(err.message, type="UnknownAgentMethod", non_retryable=True) from err
        except Exception:
            log.warning("call failed; Temporal tries it again", attempt=activity.info().attempt, exc_info=True)
            raise

    @activity.defn(name=Bridge.CALL_METHOD)
    async def call_method(self, input: MethodCallInput) -> None:
        with _bound(input.agent, schedule_id=input.schedule_id, method=input.method):
            agent = self._agent(input.agent)
            if not await self._run(agent, input.method, lambda: self._rt.calls.get(agent, input.schedule_id)):
                log.info("scheduled call no longer listed (cancelled or done): skipped")
                return
            if not input.recurring:
                await self._rt.calls.spent(agent, input.schedule_id)
            log.info("scheduled call ran")

    @activity.defn(name=Bridge.FORGET_CALL)
    async def forget_call(self, input: MethodCallInput) -> None:
        await self._rt.calls.spent(self._agent(input.agent), input.schedule_id)

    @activity.defn(name=Bridge.NEXT_QUEUED)
    async def next_queued(self, agent: AgentRef) -> QueuedCallRef | None:
        return await self._rt.queue.head(self._agent(agent))

    @activity.defn(name=Bridge.RUN_QUEUED)
    async def run_queued(self, ref: QueuedCallRef) -> QueuedCallRef | None:
        """Run the queued call `ref` (unless it was dequeued meanwhile), take it off the
        queue, and name the next one."""
        with _bound(ref.agent, call_id=ref.call_id, method=ref.method):
            agent = self._agent(ref.agent)
            if await self._run(agent, ref.method, lambda: self._rt.queue.get(agent, ref.call_id)):
                await self._rt.queue.remove(agent, ref.call_id)
            return await self._rt.queue.head(agent)

    @activity.defn(name=Bridge.DROP_QUEUED)
    async def drop_queued(self, ref: QueuedCallRef) -> QueuedCallRef | None:
        agent = self._agent(ref.agent)
        await self._rt.queue.remove(agent, ref.call_id)
        return await self._rt.queue.head(agent)
