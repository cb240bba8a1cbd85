"""The Agent layer: agents, their Redis state, turns, run tracking, and what a Temporal
client of theirs needs (the data converter, `connect_temporal`).

Framework only; the demo app lives in `agents.demo`.
"""

from agents.actor.agent import SERVER, WORKFLOW, Agent, WorkflowCallback, callable_method, interleave, kebab_case
from agents.actor.registry import AppRegistry
from agents.control.client import DATA_CONVERTER, PASSTHROUGH, connect_temporal, metrics_runtime
from agents.control.reconciler import Reconciler
from agents.core.errors import (
    AgentBusyError,
    AgentError,
    ConflictError,
    InvalidCursorError,
    NotFoundError,
    StateRejectedError,
    TurnLostError,
    ValidationError,
)
from agents.core.records import QueuedCall, RetryOptions, ScheduledCall, ScheduleInfo
from agents.core.settings import Settings, get_settings
from agents.runtime import AgentRuntime, exit_process, open_runtime
from agents.store.connection import REDIS_ERRORS, connect_redis, ready_redis, shard_messages
from agents.store.queries import MAX_PAGE, WorkflowPage
from agents.store.tracking import FINISHED, STATUSES, BatchError, RunStatus, WorkflowBatch, WorkflowInfo

__all__ = [
    "DATA_CONVERTER",
    "FINISHED",
    "MAX_PAGE",
    "PASSTHROUGH",
    "REDIS_ERRORS",
    "SERVER",
    "STATUSES",
    "QueuedCall",
    "ScheduleInfo",
    "RetryOptions",
    "ScheduledCall",
    "WORKFLOW",
    "Agent",
    "AgentBusyError",
    "AgentError",
    "AgentRuntime",
    "AppRegistry",
    "ConflictError",
    "InvalidCursorError",
    "Reconciler",
    "RunStatus",
    "NotFoundError",
    "Settings",
    "StateRejectedError",
    "TurnLostError",
    "ValidationError",
    "WorkflowCallback",
    "WorkflowBatch",
    "BatchError",
    "WorkflowInfo",
    "WorkflowPage",
    "callable_method",
    "interleave",
    "connect_redis",
    "ready_redis",
    "shard_messages",
    "connect_temporal",
    "exit_process",
    "open_runtime",
    "metrics_runtime",
    "get_settings",
    "kebab_case",
]
