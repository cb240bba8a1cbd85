"""Demo app: the agent side. An example of using the framework, not part of it."""

from agents.demo.chat_agent import DemoChat
from agents.demo.schedule import on_worker_start
from agents.demo.task_agent import TaskAgent, TaskState

__all__ = ["DemoChat", "TaskAgent", "TaskState", "on_worker_start"]
