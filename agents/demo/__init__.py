"""Demo app: the agent side. An example of using the framework, not part of it."""

from .schedule import on_worker_start
from .task_agent import TaskAgent, TaskState

__all__ = ["TaskAgent", "TaskState", "on_worker_start"]
