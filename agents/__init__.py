"""The Agent layer: agents, their Redis state, turns, run tracking, and what a Temporal
client of theirs needs (the data converter, `connect_temporal`).

Framework only; the demo app lives in `agents.demo`.
"""

from ._agent import SERVER, WORKFLOW, Agent, WorkflowCallback, callable_method, interleave, kebab_case
from ._bootstrap import exit_process, open_runtime
from ._calls import ScheduledCall
from ._queries import MAX_PAGE, WorkflowPage
from ._queue import QueuedCall
from ._reconciler import Reconciler
from ._redis import REDIS_ERRORS, connect_redis, ready_redis, shard_messages
from ._registry import AppRegistry
from ._runtime import AgentRuntime
from ._schedules import ScheduleInfo
from ._temporal import DATA_CONVERTER, PASSTHROUGH, connect_temporal, metrics_runtime
from ._tracking import FINISHED, STATUSES, RunStatus, WorkflowInfo
from .errors import (
    AgentBusyError,
    AgentError,
    ConflictError,
    InvalidCursorError,
    NotFoundError,
    StateRejectedError,
    TurnLostError,
    ValidationError,
)
from .settings import Settings, get_settings

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
