"""The workflow side: `AgentWorkflow` and its step API.

Workflow code runs in Temporal's sandbox: it does no I/O, no randomness and reads no
wall clock; every effect goes through a step (an activity) or a non-durable bridge
call (a local activity). This package imports nothing with side effects.
"""

from ._base import AgentWorkflow, AgentWorkflowEvent, Approval, active_run, workflow_name_of
from ._calls import AgentQueueWorkflow, MethodCallWorkflow
from ._chat import ChatTurnWorkflow
from ._durations import DurationStr, parse_duration
from ._errors import (
    EventTimeoutError,
    NonRetryableError,
    StepNameError,
    StepTimeoutError,
    WorkflowRejectedError,
    WorkflowTerminatedError,
    error_info,
)
from ._retries import StepRetries
from ._run import ActiveRun, ReceivedEvent, RunState
from ._step import AgentWorkflowStep, StepContext, StepInfo
from ._unregistered import UnregisteredWorkflow
from .contracts import AgentRef, AgentWorkflowInput, Bridge, WorkflowEventSignal

FRAMEWORK_WORKFLOWS = (MethodCallWorkflow, AgentQueueWorkflow, UnregisteredWorkflow)
"""The framework's own workflows (scheduled and queued agent method calls, and the one that
takes any type the worker does not register), which every worker registers next to the app's."""

__all__ = [
    "ActiveRun",
    "RunState",
    "active_run",
    "FRAMEWORK_WORKFLOWS",
    "AgentQueueWorkflow",
    "MethodCallWorkflow",
    "AgentRef",
    "AgentWorkflow",
    "AgentWorkflowEvent",
    "AgentWorkflowInput",
    "AgentWorkflowStep",
    "ChatTurnWorkflow",
    "Approval",
    "Bridge",
    "DurationStr",
    "EventTimeoutError",
    "NonRetryableError",
    "ReceivedEvent",
    "StepContext",
    "StepInfo",
    "StepNameError",
    "StepRetries",
    "StepTimeoutError",
    "WorkflowEventSignal",
    "WorkflowRejectedError",
    "WorkflowTerminatedError",
    "error_info",
    "parse_duration",
    "workflow_name_of",
]
