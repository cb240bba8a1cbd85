"""Demo app: the agent side. An example of using the framework, not part of it."""

from agents.demo.schedule import on_worker_start
from agents.demo.task_agent import TaskAgent, TaskState

__all__ = ["TaskAgent", "TaskState", "on_worker_start"]
