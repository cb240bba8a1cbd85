"""Demo app: the agent side. An example of using the framework, not part of it."""

from .task_agent import TaskAgent, TaskState

__all__ = ["TaskAgent", "TaskState"]
