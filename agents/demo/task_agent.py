"""Demo: `TaskAgent` (`/agents/task-agent/{name}`), the demo app's agent."""

from __future__ import annotations

from typing import Any, TypedDict

from agents import Agent, WorkflowPage, callable_method


class TaskState(TypedDict, total=False):
    task_progress: float
    """Fraction of the latest `process_items` run's items done (0..1)."""


class TaskAgent(Agent[TaskState]):
    initial_state: dict[str, Any] = {}

    @callable_method
    async def start_workflow(
        self, workflow: str, params: dict[str, Any], metadata: dict[str, Any] | None = None
    ) -> str:
        """Start a run of `workflow`; returns its id."""
        return await self.run_workflow(workflow, params, metadata=metadata)

    @callable_method
    async def approve(self, workflow_id: str, reason: str | None = None) -> None:
        await self.approve_workflow(workflow_id, reason=reason)

    @callable_method
    async def reject(self, workflow_id: str, reason: str | None = None) -> None:
        await self.reject_workflow(workflow_id, reason=reason)

    @callable_method
    async def list_workflows(self, status: str | list[str] | None = None) -> WorkflowPage:
        """The newest page of this agent's runs, optionally of some statuses."""
        return await self.get_workflows(status=status)
