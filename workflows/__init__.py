"""The workflow side: `AgentWorkflow` and its step API.

Workflow code runs in Temporal's sandbox: it does no I/O, no randomness and reads no
wall clock; every effect goes through a step (an activity) or a non-durable bridge
call (a local activity). This package imports nothing with side effects.
"""

from ._base import (
    AgentWorkflow,
    AgentWorkflowEvent,
    carried_writes_handed_back,
    return_carried_writes,
    run_of,
    take_carried_writes,
    workflow_name_of,
)
from ._calls import AgentQueueWorkflow, MethodCallWorkflow
from ._durations import DurationStr, parse_duration
from ._errors import (
    EventTimeoutError,
    NonRetryableError,
    StepNameError,
    StepTimeoutError,
    WorkflowRejectedError,
)
from ._retries import StepRetries
from ._step import AgentWorkflowStep, ReceivedEvent, error_info
from .contracts import AgentRef, AgentWorkflowInput, Bridge, WorkflowEventSignal

FRAMEWORK_WORKFLOWS = (MethodCallWorkflow, AgentQueueWorkflow)
"""The framework's own workflows (scheduled and queued agent method calls), which every
worker registers next to the app's."""

__all__ = [
    "FRAMEWORK_WORKFLOWS",
    "AgentQueueWorkflow",
    "MethodCallWorkflow",
    "AgentRef",
    "AgentWorkflow",
    "AgentWorkflowEvent",
    "AgentWorkflowInput",
    "AgentWorkflowStep",
    "Bridge",
    "DurationStr",
    "EventTimeoutError",
    "NonRetryableError",
    "ReceivedEvent",
    "StepNameError",
    "StepRetries",
    "StepTimeoutError",
    "WorkflowEventSignal",
    "WorkflowRejectedError",
    "carried_writes_handed_back",
    "error_info",
    "parse_duration",
    "return_carried_writes",
    "run_of",
    "take_carried_writes",
    "workflow_name_of",
]
