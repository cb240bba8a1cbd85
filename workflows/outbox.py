"""The outbox: non-durable effects (progress reports) handed from workflow code straight
to the worker process that runs it, without a local activity.

A local activity costs the run a workflow activation, a marker in its history and a
round of the SDK's activity machinery: for a report that may be lost or repeated anyway,
that was a third of the cost of a `process_items` item. Instead the workflow posts the
report here, and the worker's own event loop delivers it (to Redis, the agent's hook and
its clients), in order per run. Workflow code still does no I/O: posting hands a copy
of the message to the worker, as `workflow.logger` hands a record to logging, and a
replay posts nothing (the report went out when the code first ran).

The worker opens an outbox per task queue while it runs (`AgentsPlugin`); where none is
open (a replayer, a worker without the plugin), `post` says so and the caller falls back
to a local activity. This module is passed through the sandbox, so the workflow code and
the worker share one registry; it does nothing at import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Sender = Callable[[str, Any], None]
"""Called from the workflow's thread with (run key, message); must not block."""

_OPEN: dict[str, Sender] = {}


def open_outbox(task_queue: str, send: Sender) -> None:
    _OPEN[task_queue] = send


def close_outbox(task_queue: str, send: Sender) -> None:
    if _OPEN.get(task_queue) is send:
        del _OPEN[task_queue]


def post(task_queue: str, run_key: str, message: Any) -> bool:
    """Hand `message` to the worker of `task_queue`; False if it has no outbox open."""
    send = _OPEN.get(task_queue)
    if send is None:
        return False
    send(run_key, message)
    return True
