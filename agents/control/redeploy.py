"""Runs that survive code changes: a run whose history no longer replays on its
workflow's new code continues on that code, its completed steps matched by name.

An `AgentWorkflow` fails (instead of failing its workflow task forever) when replay
finds the code's steps no longer line up with the history: every step's activity id is
its identity (`do:<name>`, see `workflows._step.step_activity_id`), so a step added,
removed, renamed or moved is caught. The reconciler (on read and in the background sweep)
sees the failure and starts the run again under the same workflow id, carrying what the
history proves done: each completed step's result by name, the state writes and events
sent so far (by count per kind; a write carried by an activity counts once that activity
ran), the events received, whether the run is paused and
whether it reported. `run` then starts from the top on the new code; completed steps
answer from their recorded results without running, new and renamed ones run, and a step
that was in flight runs again (at least once, as after a worker crash).
"""

from __future__ import annotations

import json
import re
from datetime import UTC
from typing import TYPE_CHECKING, Any

import structlog
from temporalio.api.history.v1 import HistoryEvent
from temporalio.converter import PayloadConverter
from temporalio.exceptions import WorkflowAlreadyStartedError

from agents.control.deadlines import DEFAULT_RPC_TIMEOUT
from agents.core.errors import ValidationError
from agents.core.messages import workflow_status
from agents.store.tracking import WorkflowInfo
from workflows.contracts import CARRIED_WRITES_HEADER, Bridge, CarriedWrite
from workflows.temporal_internals import is_nondeterminism

if TYPE_CHECKING:
    from agents.control.ports import ControlRuntime
    from agents.core.ids import AgentId

log = structlog.get_logger("agents.redeploy")

REDEPLOY_LIMIT = 10
"""Continuations on new code one run may take (a guard against code that cannot replay
its own history, which would otherwise continue for ever)."""
_COUNTED = re.compile(r"^(?P<kind>[a-z_]+)#(?P<n>\d+)$")
_REPORTED = ("report_complete", "report_error")


class StepNotFound(ValidationError):
    """A restart from a step the run never began."""


def _begins(event: HistoryEvent, key: str) -> bool:
    """Whether `event` begins step `key`: its activity scheduled, or (an inline step, a
    local activity, which history records only as it completes) its marker."""
    if event.HasField("activity_task_scheduled_event_attributes"):
        return event.activity_task_scheduled_event_attributes.activity_id == key
    if event.HasField("marker_recorded_event_attributes"):
        return _marker_activity_id(event.marker_recorded_event_attributes.details) == key
    return False


def _marker_activity_id(details: Any) -> str | None:
    """The activity id a local activity's marker records (its `data` detail), if any."""
    if "data" not in details or not details["data"].payloads:
        return None
    return str(json.loads(details["data"].payloads[0].data).get("activity_id", ""))


def is_replay_mismatch(error: BaseException | None) -> bool:
    """Whether a run's failure is a replay that no longer matches the code (a redeploy),
    not a sandbox violation or a failure of the workflow's own."""
    return is_nondeterminism(error)


def carried_from_history(
    events: list[HistoryEvent], converter: PayloadConverter, *, before_step: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the execution's input, what it proves done) from one execution's history; with
    `before_step`, what it had done when that step (`do:<name>`) began: a restart from
    it (`RunService.restart`). StepNotFound if the execution never began such a step."""
    started: dict[str, Any] = {}
    activity_ids: dict[int, str] = {}
    carried: dict[int, list[str]] = {}  # state writes an activity carried (see activities._carried)
    timer_names: dict[int, str] = {}
    memo: dict[str, Any] = {}
    counts: dict[str, int] = {}
    received: list[list[Any]] = []
    reported = False
    paused: bool | None = None  # None: no pause or resume signal in this execution
    controls = 0  # pause and resume signals in this execution (see StatusInput.controls)
    tracking_id: str | None = None

    def done(activity_id: str, value: Any) -> None:
        nonlocal reported, tracking_id
        key = activity_id.split("@", 1)[0]  # a linear retry's later attempt: the same step
        if key.startswith("do:"):
            memo[key] = value
        elif match := _COUNTED.match(key):
            counts[match["kind"]] = max(counts.get(match["kind"], 0), int(match["n"]))
        elif key in _REPORTED:
            reported = True
        elif key == "track":
            tracking_id = value

    stop_at = None if before_step is None else f"do:{before_step}"
    for event in events:
        if stop_at is not None and _begins(event, stop_at):
            stop_at = None  # found: what came after it is left out
            break
        if event.HasField("workflow_execution_started_event_attributes"):
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            started = converter.from_payload(payloads[0]) if payloads else {}
        elif event.HasField("activity_task_scheduled_event_attributes"):
            attrs = event.activity_task_scheduled_event_attributes
            activity_ids[event.event_id] = attrs.activity_id
            if CARRIED_WRITES_HEADER in attrs.header.fields:
                writes = converter.from_payload(attrs.header.fields[CARRIED_WRITES_HEADER], list[CarriedWrite])
                carried[event.event_id] = [w.id for w in writes]
        elif event.HasField("activity_task_completed_event_attributes"):
            attrs = event.activity_task_completed_event_attributes
            payloads = attrs.result.payloads
            for write_id in carried.get(attrs.scheduled_event_id, ()):
                done(write_id, None)  # applied before the activity's code ran
            done(
                activity_ids.get(attrs.scheduled_event_id, ""),
                converter.from_payload(payloads[0]) if payloads else None,
            )
        elif event.HasField("activity_task_failed_event_attributes"):
            for write_id in carried.get(event.activity_task_failed_event_attributes.scheduled_event_id, ()):
                done(write_id, None)
        elif event.HasField("marker_recorded_event_attributes"):  # a local activity (inline step)
            attrs = event.marker_recorded_event_attributes
            activity_id = _marker_activity_id(attrs.details)
            if attrs.HasField("failure") or activity_id is None:
                continue
            result = attrs.details["result"].payloads if "result" in attrs.details else []
            done(activity_id, converter.from_payload(result[0]) if result else None)
        elif event.HasField("timer_started_event_attributes") and event.HasField("user_metadata"):
            timer_names[event.event_id] = converter.from_payload(event.user_metadata.summary, str)
        elif event.HasField("timer_fired_event_attributes"):
            name = timer_names.get(event.timer_fired_event_attributes.started_event_id)
            if name and not name.endswith(": retry backoff"):
                memo[f"sleep:{name}"] = None  # a sleep step (or a wait's timeout: no such sleep)
        elif event.HasField("workflow_execution_signaled_event_attributes"):
            attrs = event.workflow_execution_signaled_event_attributes
            if attrs.signal_name == Bridge.SIGNAL_EVENT and attrs.input.payloads:
                signal = converter.from_payload(attrs.input.payloads[0])
                at = event.event_time.ToDatetime(tzinfo=UTC).isoformat()
                received.append([signal.get("type"), signal.get("payload"), at])
            elif attrs.signal_name == Bridge.SIGNAL_PAUSE:
                paused, controls = True, controls + 1
            elif attrs.signal_name == Bridge.SIGNAL_RESUME:
                paused, controls = False, controls + 1

    if stop_at is not None:
        raise StepNotFound(f"the run has no step {before_step!r} (a step.do name, numbered if used again: 'fetch-1')")
    before = started.get("carried") or {}
    if tracking_id and not started.get("tracking_id"):
        started["tracking_id"] = tracking_id
    counts_before = before.get("counts") or {}
    carried = {
        "memo": {**(before.get("memo") or {}), **memo},
        "counts": {k: max(counts_before.get(k, 0), counts.get(k, 0)) for k in {*counts, *counts_before}},
        "events": [*(before.get("events") or []), *received],
        "reported": bool(before.get("reported")) or reported,
        "paused": bool(before.get("paused")) if paused is None else paused,
        "redeploys": int(before.get("redeploys") or 0) + 1,
        # Its pauses and resumes so far: the continuation numbers the next ones on from there.
        "controls": int(before.get("controls") or 0) + controls,
    }
    return started, carried


async def continue_on_new_code(
    rt: ControlRuntime, agent: AgentId, info: WorkflowInfo, failed_run_id: str, reason: str
) -> bool:
    """Start the run again on the current code with what its failed execution proves
    done; False if it may not (too many continuations: the caller ends it `errored`)."""
    handle = rt.temporal.get_workflow_handle(info.temporal_workflow_id, run_id=failed_run_id)
    history = await handle.fetch_history(rpc_timeout=DEFAULT_RPC_TIMEOUT)
    started, carried = carried_from_history(list(history.events), rt.temporal.data_converter.payload_converter)
    if carried["redeploys"] > REDEPLOY_LIMIT:
        return False
    try:
        new = await rt.runs.start_continuation(agent, info, carried, reason=reason)
    except WorkflowAlreadyStartedError:
        return True  # another reconciler continued it first
    await rt.tracker.set_run_id(agent.keys, info.workflow_id, new.first_execution_run_id or "")
    note = {"continued": "the workflow's code changed: the run continues on the new code", "reason": reason}
    await rt.publish(agent.keys, workflow_status(info.workflow_id, info.workflow_name, info.status, **note))
    log.warning(
        "run continues on new code",
        tracking_id=info.workflow_id,
        workflow_id=info.temporal_workflow_id,
        failed_run_id=failed_run_id,
        steps_done=len(carried["memo"]),
        reason=reason,
    )
    return True
