"""Starting and steering the runs an agent owns, on Temporal, tracked in Redis.

Every control first finds the run in the agent's own tracking, so an agent can only
see and steer runs it started; anything else is "not found".
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pydantic
import structlog
from pydantic_core import to_jsonable_python
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import WorkflowHandle
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from agents.control.reconcile import reconcile_with_temporal
from agents.control.redeploy import carried_from_history
from agents.core.errors import AgentError, ConflictError, NotFoundError, ValidationError
from agents.core.messages import workflow_status
from agents.core.names import SAFE_NAME_RE
from agents.core.payloads import check_json
from agents.store.tracking import FINISHED, BatchError, RunStatus, Transition, WorkflowBatch, WorkflowInfo, now_ms
from workflows import AgentRef, AgentWorkflowInput, Bridge, WorkflowEventSignal, parse_duration

log = structlog.get_logger("agents.runs")

if TYPE_CHECKING:
    from agents.control.ports import ControlRuntime
    from agents.core.ids import AgentId

ID_PATTERN = SAFE_NAME_RE
MAX_BATCH = 100
"""Runs one `create_workflow_batch` may start (Cloudflare's limit)."""
_BATCH_STARTS_AT_ONCE = 16
"""Starts of one batch in flight at a time."""
_BATCH_FIELDS = frozenset({"params", "id", "metadata", "retention"})
_EVENT_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}$")

CONTROL_RPC_TIMEOUT = timedelta(seconds=5)
"""How long a control call (start, signal, terminate) waits for Temporal, retries
included, before the API answers 503: a client should hear that Temporal is down, not hang."""

AGENT_TYPE = SearchAttributeKey.for_keyword("AgentType")
AGENT_NAME = SearchAttributeKey.for_keyword("AgentName")
AGENT_WORKFLOW = SearchAttributeKey.for_keyword("AgentWorkflow")


def temporal_workflow_id(agent: AgentId, tracking_id: str) -> str:
    """Temporal ids are namespaced by agent, so two agents may use the same run id."""
    return f"{agent.agent_type}/{agent.name}/{tracking_id}"


def parse_retention(retention: Any) -> dict[str, int] | None:
    """`{"success": "1 day", "error": "7 days"}` (Cloudflare's successRetention /
    errorRetention names work too) -> milliseconds kept after the run finishes."""
    if retention is None:
        return None
    if not isinstance(retention, dict):
        raise ValidationError("retention must be an object like {'success': '1 day', 'error': '7 days'}")
    aliases = {"success": "success", "successRetention": "success", "error": "error", "errorRetention": "error"}
    out: dict[str, int] = {}
    for key, value in retention.items():
        if key not in aliases:
            raise ValidationError(f"retention: unknown key {key!r}; use 'success' and 'error'")
        try:
            out[aliases[key]] = int(parse_duration(value, what=f"retention.{key}").total_seconds() * 1000)
        except ValueError as err:
            raise ValidationError(str(err)) from None
    return out


def search_attributes(agent: AgentId, workflow_name: str) -> TypedSearchAttributes:
    """What makes an agent's runs findable in Temporal UI (and tells them from standalone runs)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(AGENT_TYPE, agent.agent_type),
            SearchAttributePair(AGENT_NAME, agent.name),
            SearchAttributePair(AGENT_WORKFLOW, workflow_name),
        ]
    )


def check_event(type: Any, payload: Any) -> None:
    """An event's type (the charset) and payload (nesting, valid Unicode), before sending."""
    if not isinstance(type, str) or not _EVENT_TYPE.match(type):
        raise ValidationError(f"event type {type!r} is not allowed: use 1-100 letters, digits, '_', '.', ':' or '-'")
    check_json(payload, what="event payload")


def _queued_row(
    agent: AgentId, tracking_id: str, workflow: str, params: dict[str, Any], metadata: dict[str, Any]
) -> WorkflowInfo:
    """The tracking row of a run about to start."""
    return WorkflowInfo(
        workflow_id=tracking_id,
        temporal_workflow_id=temporal_workflow_id(agent, tracking_id),
        workflow_name=workflow,
        status=RunStatus.QUEUED,
        params=params,
        metadata=metadata,
        created_at=now_ms(),
    )


class RunService:
    def __init__(self, runtime: ControlRuntime) -> None:
        self._rt = runtime

    def validate_params(self, workflow_name: str, params: Any) -> dict[str, Any]:
        """Params checked against the workflow's params model, as a JSON object."""
        cls = self._rt.registry.workflow_class(workflow_name)
        params = {} if params is None else params
        if cls.params_model is not None:
            if isinstance(params, dict) and (unknown := unknown_fields(cls.params_model, params)):
                raise ValidationError(
                    f"invalid params for workflow {workflow_name!r}: unknown field {unknown[0]!r} "
                    f"(the params model has no such field; to accept unknown fields, set "
                    f"model_config = ConfigDict(extra='ignore') on it)",
                    errors=[
                        {"type": "extra_forbidden", "loc": [name], "msg": "Extra inputs are not permitted"}
                        for name in unknown
                    ],
                )
            try:
                params = pydantic.TypeAdapter(cls.params_model).validate_python(params)
            except pydantic.ValidationError as err:
                raise ValidationError(
                    f"invalid params for workflow {workflow_name!r}",
                    errors=to_jsonable_python(
                        err.errors(include_url=False, include_context=False, include_input=False)
                    ),
                ) from err
        data = to_jsonable_python(params)
        if not isinstance(data, dict):
            raise ValidationError(f"params of {workflow_name!r} must be a JSON object")
        check_json(data, what="params")
        return data

    async def start(
        self,
        agent: AgentId,
        name: str,
        params: Any,
        *,
        id: str | None = None,
        metadata: dict[str, Any] | None = None,
        retention: Any = None,
    ) -> WorkflowInfo:
        """Track and start a run; the tracked row as it is right after the start."""
        data = self.validate_params(name, params)
        id = id or f"wf_{secrets.token_hex(12)}"
        metadata = {} if metadata is None else metadata
        if not isinstance(id, str) or not ID_PATTERN.match(id):
            raise ValidationError(f"workflow id {id!r} is not allowed: use 1-128 letters, digits, '_', '.' or '-'")
        if not isinstance(metadata, dict):
            raise ValidationError("metadata must be a JSON object")
        check_json(metadata, what="metadata")
        info = _queued_row(agent, id, name, data, metadata)
        if not await self._rt.tracker.create(agent.keys, info, retention=parse_retention(retention)):
            return await self._start_again(agent, id, name)
        try:
            handle = await self._start_on_temporal(agent, info, reuse=False)
        except WorkflowAlreadyStartedError:
            await self._rt.tracker.delete(agent.keys, id)
            raise ConflictError(f"a workflow with id {id!r} already exists for this agent") from None
        except BaseException as err:
            # Refused: nothing started, so nothing stays tracked. Timed out or cut off:
            # Temporal may have started it, so the row stays (the run's first report
            # gives it its run id) and the same start again finishes the job.
            if not _maybe_applied(err):
                await self._rt.tracker.delete(agent.keys, id)
            raise
        row = await self._rt.tracker.set_run_id(agent.keys, id, handle.first_execution_run_id or "")
        self._rt.metrics.workflow_starts.labels(name).inc()
        if row is None:  # deleted in the meantime by another request
            raise NotFoundError(f"workflow {id!r} was deleted as it started")
        return row

    async def start_batch(
        self,
        agent: AgentId,
        name: str,
        *,
        count: int | None = None,
        params: Any = None,
        instances: list[dict[str, Any]] | None = None,
    ) -> WorkflowBatch:
        """Start up to MAX_BATCH runs of `name` in one call (Cloudflare's `createBatch`):
        `count` runs with the same `params` (ids made up), or `instances`, each a mapping
        of `params`, and optionally `id`, `metadata`, `retention`. A batch that asks
        nothing or too much is refused whole (ValidationError); a run that cannot start
        (bad params, an id taken) is listed in `errors` by its index, the others start."""
        self._rt.registry.workflow_class(name)  # an unknown workflow: 404 for the whole batch
        if (count is None) == (instances is None):
            raise ValidationError("give count (with params) or instances, one of them")
        if count is not None:
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BATCH:
                raise ValidationError(f"count must be a whole number from 1 to {MAX_BATCH}")
            instances = [{"params": params if params is not None else {}} for _ in range(count)]
        elif params is not None:
            raise ValidationError("params goes with count; with instances, each instance has its own")
        assert instances is not None
        if not isinstance(instances, list) or not 1 <= len(instances) <= MAX_BATCH:
            raise ValidationError(f"instances must be a list of 1 to {MAX_BATCH}")
        limit = asyncio.Semaphore(_BATCH_STARTS_AT_ONCE)

        async def one(index: int, instance: Any) -> WorkflowInfo | BatchError:
            if not isinstance(instance, dict):
                return BatchError(index, None, "invalid", "an instance is a mapping of params, id, metadata, retention")
            given = instance.get("id")
            if extra := sorted(set(instance) - _BATCH_FIELDS):
                return BatchError(index, given, "invalid", f"unknown fields {extra}")
            async with limit:
                try:
                    return await self.start(
                        agent,
                        name,
                        instance.get("params", {}),
                        id=given,
                        metadata=instance.get("metadata"),
                        retention=instance.get("retention"),
                    )
                except AgentError as err:
                    return BatchError(index, given, err.code, err.message)
                except RPCError as err:  # Temporal refused or did not answer: this run did not start
                    return BatchError(index, given, "temporal_error", err.message)

        outcomes = await asyncio.gather(*(one(i, item) for i, item in enumerate(instances)))
        return WorkflowBatch(
            created=[o for o in outcomes if isinstance(o, WorkflowInfo)],
            errors=[o for o in outcomes if isinstance(o, BatchError)],
        )

    async def forget_on_temporal(self, info: WorkflowInfo) -> int:
        """Delete every execution under the row's Temporal id from Temporal (history and
        visibility: it leaves Temporal UI and its lists), a running one terminated first;
        how many. Temporal deletes closed executions in the background (the dev server
        took about half a minute), so a list right after may still show one. Executions
        already gone are skipped."""
        temporal = self._rt.temporal
        executions = [
            execution.run_id
            async for execution in temporal.list_workflows(
                f'WorkflowId = "{info.temporal_workflow_id}"', rpc_timeout=CONTROL_RPC_TIMEOUT
            )
        ]
        namespace = temporal.namespace
        for run_id in executions:
            request = DeleteWorkflowExecutionRequest(
                namespace=namespace,
                workflow_execution=WorkflowExecution(workflow_id=info.temporal_workflow_id, run_id=run_id),
            )
            try:
                await temporal.workflow_service.delete_workflow_execution(request, timeout=CONTROL_RPC_TIMEOUT)
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise
        return len(executions)

    async def _start_again(self, agent: AgentId, id: str, name: str) -> WorkflowInfo:
        """A start under an id that is tracked already: 409, unless it is the row of a
        start that timed out (queued, no run, older than a start may take), which this
        start completes: the run is started now, or found started then."""
        info = await self._rt.tracker.get(agent.keys, id)
        stranded = (
            info is not None
            and info.status == RunStatus.QUEUED
            and not info.run_id
            and info.workflow_name == name
            and now_ms() - info.created_at > CONTROL_RPC_TIMEOUT.total_seconds() * 1000
        )
        if info is None or not stranded:
            raise ConflictError(f"a workflow with id {id!r} already exists for this agent")
        try:
            handle = await self._start_on_temporal(agent, info, reuse=False)
        except WorkflowAlreadyStartedError:  # the timed-out start had reached Temporal
            handle = self._rt.temporal.get_workflow_handle(info.temporal_workflow_id)
            described = await handle.describe()
            chain = described.raw_description.workflow_execution_info.first_run_id
            await self._rt.tracker.set_run_id(agent.keys, id, chain)
            return _found(agent, id, await self.get(agent, id))
        self._rt.metrics.workflow_starts.labels(name).inc()
        return _found(agent, id, await self._rt.tracker.set_run_id(agent.keys, id, handle.first_execution_run_id or ""))

    async def deliver(
        self, agent: AgentId, workflow: str, key: str, *, type: str, payload: Any, params: Any = None
    ) -> tuple[str, bool]:
        """Deliver an event to the run of `workflow` for `key`, starting it first if none
        is running (Temporal signal-with-start on a deterministic id). Returns
        (tracking id, whether a run was started)."""
        check_event(type, payload)
        tracking_id = f"{workflow}-{key}"
        if not isinstance(key, str) or not ID_PATTERN.match(tracking_id):
            raise ValidationError(f"key {key!r} is not allowed: use letters, digits, '_', '.' or '-' (id up to 128)")
        data = self.validate_params(workflow, params)
        event = WorkflowEventSignal(type, payload)
        info = await self._rt.tracker.get(agent.keys, tracking_id)
        if info is not None and info.status not in FINISHED:
            try:
                await self._rt.temporal.get_workflow_handle(info.temporal_workflow_id).signal(
                    Bridge.SIGNAL_EVENT, event, rpc_timeout=CONTROL_RPC_TIMEOUT
                )
                return tracking_id, False
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise
                # Not on Temporal: it finished meanwhile (start a new one below), or the
                # request that created the row is still starting it (no run id yet).
                if not info.run_id:
                    await self._start_on_temporal(agent, info, reuse=True, signal=event)  # joins that start
                    return tracking_id, False
        fresh = _queued_row(agent, tracking_id, workflow, data, {"key": key})
        created = await self._rt.tracker.create(agent.keys, fresh)
        if not created:  # a finished run under this key, or a racing request's new row
            await self._rt.tracker.set_run_id(agent.keys, tracking_id, "")
            again = Transition(
                status="queued",
                only_from="complete,errored,terminated",
                fields={"progress": None, "result": None, "error": None, "completed_at": ""},
            )
            await self._rt.tracker.transition(agent.keys, tracking_id, again)
        handle = await self._start_on_temporal(agent, fresh, reuse=True, signal=event)
        await self._rt.tracker.set_run_id(agent.keys, tracking_id, handle.first_execution_run_id or "")
        self._rt.metrics.workflow_controls.labels("deliver").inc()
        # Started: a new row, or a finished run's key reused. A racing request that found
        # no row but lost the create only had its event delivered to the winner's run.
        return tracking_id, created or info is not None

    async def start_continuation(
        self, agent: AgentId, info: WorkflowInfo, carried: dict[str, Any], *, reason: str
    ) -> WorkflowHandle[Any, Any]:
        """Start a failed run again under its workflow id with `carried` (what it had done:
        see `_redeploy`); WorkflowAlreadyStartedError if it is running again already."""
        return await self._start_on_temporal(agent, info, reuse=True, carried=carried, continues=reason)

    async def _start_on_temporal(
        self,
        agent: AgentId,
        info: WorkflowInfo,
        *,
        reuse: bool,
        signal: WorkflowEventSignal | None = None,
        carried: dict[str, Any] | None = None,
        continues: str | None = None,
    ) -> WorkflowHandle[Any, Any]:
        # With a signal, an already running run gets the signal (signal-with-start);
        # without one, reuse=True replaces a running run (restart), unless it continues
        # a failed run (then a running one means someone continued it already).
        conflict = WorkflowIDConflictPolicy.USE_EXISTING if signal else WorkflowIDConflictPolicy.TERMINATE_EXISTING
        if continues is not None:
            conflict = WorkflowIDConflictPolicy.FAIL
        summary = f"{info.workflow_name} for {agent.agent_type}/{agent.name} ({info.workflow_id})"
        if continues is not None:
            summary += f", continued on new code after: {continues[:300]}"
        signal_args: dict[str, Any] = (
            {"start_signal": Bridge.SIGNAL_EVENT, "start_signal_args": [signal]} if signal else {}
        )
        try:
            return await self._rt.temporal.start_workflow(
                info.workflow_name,
                AgentWorkflowInput(
                    params=info.params,
                    agent=AgentRef(agent.agent_type, agent.name),
                    tracking_id=info.workflow_id,
                    metadata=info.metadata,
                    carried=carried,
                ),
                id=info.temporal_workflow_id,
                task_queue=self._rt.settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE
                if reuse
                else WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=conflict if reuse else WorkflowIDConflictPolicy.FAIL,
                static_summary=summary,
                search_attributes=search_attributes(agent, info.workflow_name),
                rpc_timeout=CONTROL_RPC_TIMEOUT,
                **signal_args,
            )
        except RPCError as err:
            if err.status == RPCStatusCode.INVALID_ARGUMENT and "search attribute" in err.message.lower():
                raise AgentError(
                    "the Temporal namespace lacks the search attributes AgentType, AgentName and "
                    "AgentWorkflow; create them with `temporal operator search-attribute create "
                    "--name AgentType --type Keyword` (and the same for the other two)",
                    temporal=err.message,
                ) from err
            raise

    async def get(self, agent: AgentId, tracking_id: str, *, reconcile: bool = True) -> WorkflowInfo | None:
        info = await self._rt.tracker.get(agent.keys, tracking_id)
        if info is not None and reconcile and info.status not in FINISHED:
            info = await reconcile_with_temporal(self._rt, agent, info)
        return info

    async def require(self, agent: AgentId, tracking_id: str, *, reconcile: bool = True) -> WorkflowInfo:
        return _found(agent, tracking_id, await self.get(agent, tracking_id, reconcile=reconcile))

    async def require_unfinished(self, agent: AgentId, tracking_id: str, doing: str) -> WorkflowInfo:
        # No reconcile here: a control that finds the run gone on Temporal reconciles then.
        return _unfinished(await self.require(agent, tracking_id, reconcile=False), doing)

    async def signal_event(self, agent: AgentId, tracking_id: str, type: str, payload: Any) -> None:
        check_event(type, payload)
        # Signalled first, with no Redis call before it: the run is addressed by an id
        # derived from the tracking id, and an unknown or finished run is told apart
        # after Temporal says NOT_FOUND. Then, before answering, a run waiting for
        # exactly this event is marked `running`, so a client polling right after sees it
        # taken and the run needs no report of its own; the event id keeps this mark
        # from ever landing on a later wait (see RunTracker.mark_resumed).
        event = WorkflowEventSignal(type, payload, id=secrets.token_hex(8))
        try:
            await self._rt.temporal.get_workflow_handle(temporal_workflow_id(agent, tracking_id)).signal(
                Bridge.SIGNAL_EVENT, event, rpc_timeout=CONTROL_RPC_TIMEOUT
            )
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            await self._signal_tracked(agent, tracking_id, event)
        try:
            await self._rt.tracker.mark_resumed(agent.keys, tracking_id, type, event.id)
        except Exception:  # delivered: the run's next report corrects the row; a retry would deliver twice
            log.warning("a delivered event's run could not be marked running", workflow_id=tracking_id, exc_info=True)
        self._rt.metrics.workflow_controls.labels("approval" if type == "approval" else "event").inc()

    async def _signal_tracked(self, agent: AgentId, tracking_id: str, event: WorkflowEventSignal) -> None:
        """Temporal has no open run under the derived id: answer from the row (404, 409),
        or signal the Temporal id the row names (a run a schedule started), or the run
        that continues a failed one on new code (`_signal`)."""
        info = _unfinished(await self.require(agent, tracking_id, reconcile=False), "take more events")
        await self._signal(agent, info, Bridge.SIGNAL_EVENT, event)

    # Pause and resume: under the run's control lock, signalled first, then marked, so
    # nothing is written unless the signal landed, and marks land in signal order. The
    # run reports each pause and resume it takes, numbered in its history's order; a mark
    # stands only until the run's own word on that signal (or a later one) lands. So a
    # pause and a resume racing through two API processes end as the run took them.

    async def pause(self, agent: AgentId, tracking_id: str) -> WorkflowInfo:
        async with self._rt.tracker.control_lock(agent.keys, tracking_id):
            info = await self._following(agent, await self.require_unfinished(agent, tracking_id, "be paused"))
            if info.status not in ("running", "waiting"):  # as Cloudflare, which throws
                raise ConflictError(
                    f"workflow {tracking_id!r} is {info.status}: only a running or waiting run can be paused"
                )
            await self._signal(agent, info, Bridge.SIGNAL_PAUSE)
            self._rt.metrics.workflow_controls.labels("pause").inc()
            return await self._move(agent, info, "paused", control_mark=True)

    async def resume(self, agent: AgentId, tracking_id: str) -> WorkflowInfo:
        async with self._rt.tracker.control_lock(agent.keys, tracking_id):
            info = await self._following(agent, await self.require_unfinished(agent, tracking_id, "be resumed"))
            if info.status != "paused":
                raise ConflictError(f"workflow {tracking_id!r} is {info.status}, not paused")
            await self._signal(agent, info, Bridge.SIGNAL_RESUME)
            self._rt.metrics.workflow_controls.labels("resume").inc()
            # `running` until the run says more: one still blocked on an event reports `waiting`.
            return await self._move(agent, info, "running", only_from="paused", control_mark=True)

    async def terminate(
        self, agent: AgentId, tracking_id: str, reason: str | None = None, *, rollback: bool = False
    ) -> WorkflowInfo:
        # Under the run's control lock, as restart: a terminate never lands between a
        # restart's retiring the old run and its recording the new one.
        async with self._rt.tracker.control_lock(agent.keys, tracking_id):
            info = await self._following(agent, await self.require_unfinished(agent, tracking_id, "be terminated"))
            why = reason or "terminated by its agent"
            # With rollback, a Temporal cancel: the run runs its undos, then reports
            # `terminated` itself (AgentWorkflow._execute); the row is unchanged until then.
            info = await self._on_open_run(
                agent,
                info,
                lambda handle: (handle.cancel if rollback else handle.terminate)(
                    reason=why, rpc_timeout=CONTROL_RPC_TIMEOUT
                ),
            )
            self._rt.metrics.workflow_controls.labels("terminate").inc()
            if rollback:
                return info
            ended = await self._current_run(info)
            return await self._move(agent, info, "terminated", run_id=info.run_id, reporter_run=ended)

    async def _following(self, agent: AgentId, info: WorkflowInfo) -> WorkflowInfo:
        """`info`, following its chain again if a restart retired that chain and died
        before starting its own (under the control lock: no restart is under way)."""
        retired = [] if info.run_id else await self._rt.tracker.retired(agent.keys, info.workflow_id)
        if not retired:
            return info
        try:
            described = await self._rt.temporal.get_workflow_handle(info.temporal_workflow_id).describe(
                rpc_timeout=CONTROL_RPC_TIMEOUT
            )
        except RPCError:
            return info
        chain = described.raw_description.workflow_execution_info.first_run_id
        if chain in retired:
            await self._rt.tracker.unretire(agent.keys, info.workflow_id, chain)
            return await self.require(agent, info.workflow_id, reconcile=False)
        return info

    async def _current_run(self, info: WorkflowInfo) -> str | None:
        """The run id of the run under the row's Temporal id (recorded when a control ends
        it, so a reset of that run later is followed: see RunTracker.transition), or None
        if Temporal does not say in time."""
        try:
            described = await self._rt.temporal.get_workflow_handle(info.temporal_workflow_id).describe(
                rpc_timeout=CONTROL_RPC_TIMEOUT
            )
        except RPCError:
            return None
        return described.run_id

    async def restart(
        self, agent: AgentId, tracking_id: str, *, reset_tracking: bool = True, from_step: str | None = None
    ) -> WorkflowInfo:
        """Run again from the beginning with the same params (a running run is ended);
        with `from_step`, the steps its last execution completed before that step began
        keep their results and do not run again (see `_done_before`). Under the run's
        control lock: restarts of one run (and its pauses and resumes) follow one
        another, so each knows the chain it replaces."""
        async with self._rt.tracker.control_lock(agent.keys, tracking_id):
            info = await self.require(agent, tracking_id)
            carried = None if from_step is None else await self._done_before(info, from_step)
            # An unfinished run's chain is retired first: its late reports (an approval
            # completing it right now) must not land on the new one. Nothing else is
            # written until the new chain has started: with Temporal down, the row stays
            # as it was. (A finished run's chain reports nothing more: the restart's own
            # write below replaces it, and a restart that dies first leaves the row whole.)
            retiring = info.status not in FINISHED
            if retiring:
                await self._rt.tracker.retire(agent.keys, tracking_id, info.run_id or "")
            old_run = await self._current_run(info)
            try:
                handle = await self._start_on_temporal(agent, info, reuse=True, carried=carried)
            except BaseException as err:
                if retiring and not _maybe_applied(err):  # surely not started: back to the old chain
                    await self._rt.tracker.unretire(agent.keys, tracking_id, info.run_id or "")
                raise
            # An approval that reached the old run marks the row after its signal, perhaps
            # after this restart's write: then it would mark the new run `running` while
            # that waits. The events the old run was sent are recorded as taken, so such a
            # mark finds its event taken and changes nothing.
            sent = await self._events_sent_to(info, old_run)
            fields: dict[str, Any] = {"controls": 0, "issued": 0}  # the new chain numbers its pauses from 1
            if reset_tracking:  # a new run as far as tracking goes: fresh fields, first in lists
                fields.update(progress=None, result=None, error=None, completed_at="")
                await self._rt.tracker.recreate(agent.keys, tracking_id)
            change = Transition(
                status="queued",
                run_id=handle.first_execution_run_id or "",
                restart=True,
                consumed=sent,
                announce=workflow_status(tracking_id, info.workflow_name, "queued"),
                fields=fields,
            )
            await self._rt.tracker.transition(agent.keys, tracking_id, change)
            self._rt.metrics.workflow_controls.labels("restart").inc()
            return await self.require(agent, tracking_id, reconcile=False)

    async def _done_before(self, info: WorkflowInfo, step: str) -> dict[str, Any]:
        """What the row's last execution had done when step `step` began (its completed
        steps' results, state writes and events sent, events received), for a restart
        from that step: the new run answers those from it and runs the rest. Read before
        anything is written: a step the run never began is a ValidationError."""
        handle = self._rt.temporal.get_workflow_handle(info.temporal_workflow_id)
        history = await handle.fetch_history(rpc_timeout=CONTROL_RPC_TIMEOUT)
        converter = self._rt.temporal.data_converter.payload_converter
        started, carried = carried_from_history(list(history.events), converter, before_step=step)
        before = started.get("carried") or {}
        # A new chain, not a continuation: its pauses number from 1, it has not reported,
        # and it runs unpaused, as a restart does.
        carried.update(reported=False, paused=False, controls=0, redeploys=int(before.get("redeploys") or 0))
        return carried

    async def _events_sent_to(self, info: WorkflowInfo, run_id: str | None) -> list[str]:
        """The ids of the events (approvals included) the run `run_id` of the row's
        Temporal id was sent, from its history; none if Temporal does not say in time."""
        if not run_id:
            return []
        handle = self._rt.temporal.get_workflow_handle(info.temporal_workflow_id, run_id=run_id)
        converter = self._rt.temporal.data_converter
        ids: list[str] = []
        try:
            async for event in handle.fetch_history_events(rpc_timeout=CONTROL_RPC_TIMEOUT):
                signaled = event.workflow_execution_signaled_event_attributes
                if event.HasField("workflow_execution_signaled_event_attributes") and (
                    signaled.signal_name == Bridge.SIGNAL_EVENT
                ):
                    [sent] = await converter.decode(signaled.input.payloads, [WorkflowEventSignal])
                    if sent.id:
                        ids.append(sent.id)
        except (RPCError, ValueError, TypeError):
            log.warning("the events sent to a restarted run could not be read", workflow_id=info.workflow_id)
        return ids

    async def _signal(self, agent: AgentId, info: WorkflowInfo, signal: str, *args: Any) -> None:
        await self._on_open_run(
            agent, info, lambda handle: handle.signal(signal, *args, rpc_timeout=CONTROL_RPC_TIMEOUT)
        )

    async def _on_open_run(
        self, agent: AgentId, info: WorkflowInfo, call: Callable[[WorkflowHandle[Any, Any]], Awaitable[Any]]
    ) -> WorkflowInfo:
        """`call` on the run's handle. When Temporal has no open run for the row, tracking
        is brought up to date and the call tried once more (a run that continues on new
        code takes it: `_continued`); ConflictError if the run has finished. The row as
        the call found it."""
        for last in (False, True):
            try:
                await call(self._rt.temporal.get_workflow_handle(info.temporal_workflow_id))
                return info
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise
                if last:  # still none after tracking was brought up to date
                    raise ConflictError(f"workflow {info.workflow_id!r} has already finished") from None
                info = await self._continued(agent, info)
        return info

    async def _continued(self, agent: AgentId, info: WorkflowInfo) -> WorkflowInfo:
        """Temporal has no open run for a row that says unfinished: bring tracking up to
        date. A run that failed because a redeploy changed its code continues on the new
        code then (see `_redeploy`): the row, to send the control to that run. Otherwise
        the run has finished: ConflictError. A control in the seconds between "failed on
        new code" and "continued" was refused and lost."""
        await reconcile_with_temporal(self._rt, agent, info)
        fresh = await self._rt.tracker.get(agent.keys, info.workflow_id)
        if fresh is None or fresh.status in FINISHED:
            raise ConflictError(f"workflow {info.workflow_id!r} has already finished")
        return fresh

    async def _move(self, agent: AgentId, info: WorkflowInfo, status: str, **options: Any) -> WorkflowInfo:
        """A control's move of the row to `status`, announced; `options`: see Transition."""
        announce = workflow_status(info.workflow_id, info.workflow_name, status)
        await self._rt.tracker.transition(
            agent.keys, info.workflow_id, Transition(status=status, announce=announce, **options)
        )
        return await self.require(agent, info.workflow_id, reconcile=False)


def unknown_fields(model: Any, params: dict[str, Any]) -> list[str]:
    """Top-level keys of `params` that a pydantic model or dataclass has no field for,
    sorted: refused at the start (a misspelled param must not be dropped silently), unless
    the model says `extra` itself (`ConfigDict(extra="ignore")` or `"allow"`). Other
    params types (dict, TypedDict) are left to pydantic."""
    if isinstance(model, type) and issubclass(model, pydantic.BaseModel):
        if "extra" in model.model_config:
            return []
        known = {name for name, f in model.model_fields.items() for name in (name, f.alias) if name}
    elif dataclasses.is_dataclass(model) and isinstance(model, type):
        config = getattr(model, "__pydantic_config__", None) or {}
        if "extra" in config:
            return []
        known = {f.name for f in dataclasses.fields(model)}
    else:
        return []
    return sorted(key for key in params if key not in known)


def _maybe_applied(err: BaseException) -> bool:
    """Whether a Temporal call that raised `err` may still have been carried out: it timed
    out or was cut off (the server may have acted), as opposed to refused outright."""
    if isinstance(err, RPCError):
        return err.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED, RPCStatusCode.UNKNOWN)
    return not isinstance(err, AgentError | WorkflowAlreadyStartedError)


def _found(agent: AgentId, tracking_id: str, info: WorkflowInfo | None) -> WorkflowInfo:
    if info is None:
        raise NotFoundError(f"no workflow {tracking_id!r} for {agent.agent_type}/{agent.name}")
    return info


def _unfinished(info: WorkflowInfo, doing: str) -> WorkflowInfo:
    if info.status in FINISHED:
        raise ConflictError(f"workflow {info.workflow_id!r} is {info.status}; it cannot {doing}")
    return info
