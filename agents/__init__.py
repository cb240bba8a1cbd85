"""The Agent layer: agents, their Redis state, run tracking and the Temporal plugin.

Framework only; the demo app lives in `agents.demo`.
"""

from ._agent import SERVER, WORKFLOW, Agent, callable_method, kebab_case
from ._plugin import DATA_CONVERTER, PASSTHROUGH, AgentsPlugin, connect_temporal, metrics_runtime
from ._reconciler import Reconciler
from ._registry import AppRegistry
from ._runtime import AgentRuntime
from ._queries import MAX_PAGE, WorkflowPage
from ._tracking import FINISHED, STATUSES, WorkflowInfo
from .errors import (
    AgentError,
    ConflictError,
    InvalidCursorError,
    NotFoundError,
    StateRejectedError,
    ValidationError,
)
from .settings import Settings, get_settings

__all__ = [
    "DATA_CONVERTER",
    "FINISHED",
    "MAX_PAGE",
    "PASSTHROUGH",
    "SERVER",
    "STATUSES",
    "WORKFLOW",
    "Agent",
    "AgentError",
    "AgentRuntime",
    "AgentsPlugin",
    "AppRegistry",
    "ConflictError",
    "InvalidCursorError",
    "Reconciler",
    "NotFoundError",
    "Settings",
    "StateRejectedError",
    "ValidationError",
    "WorkflowInfo",
    "WorkflowPage",
    "callable_method",
    "connect_temporal",
    "metrics_runtime",
    "get_settings",
    "kebab_case",
]
