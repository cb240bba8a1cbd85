"""Request and response bodies of the HTTP API (they make the OpenAPI schema at /docs)."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from agents.store.queries import WorkflowPage
from agents.store.tracking import WorkflowInfo


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartWorkflow(_Strict):
    workflow: str = Field(description="registered workflow name, e.g. process_items")
    params: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(default=None, description="run id; default wf_<random>")
    metadata: dict[str, Any] | None = Field(default=None, description="stored for queries only")
    retention: dict[str, Any] | None = Field(
        default=None, description="how long to keep the finished run, e.g. {'success': '1 day', 'error': '7 days'}"
    )


class CreateBatch(_Strict):
    workflow: str = Field(description="registered workflow name")
    count: int | None = Field(default=None, description="this many runs with the same params (ids made up)")
    params: dict[str, Any] | None = Field(default=None, description="with count: every run's params")
    instances: list[dict[str, Any]] | None = Field(
        default=None, description="or one entry per run: {params, id?, metadata?, retention?}"
    )


class WorkflowEvent(_Strict):
    type: str
    payload: Any = None


class DeliverEvent(_Strict):
    key: str = Field(description="runs are keyed: the same key reaches the same running run")
    type: str = "event"
    payload: Any = None
    params: dict[str, Any] = Field(default_factory=dict, description="the params if a new run starts")


class Delivered(BaseModel):
    id: str
    started: bool


class CreateSchedule(_Strict):
    workflow: str
    params: dict[str, Any] = Field(default_factory=dict)
    cron: str | None = Field(default=None, examples=["*/5 * * * *"])
    every: str | None = Field(default=None, examples=["1 minute"])
    at: str | None = Field(default=None, description="ISO 8601 time with a timezone: one run then")
    id: str | None = None
    metadata: dict[str, Any] | None = None
    overlap: str = "skip"


class Approve(_Strict):
    reason: str | None = None
    metadata: Any = None


class Reject(_Strict):
    reason: str | None = None


class Terminate(_Strict):
    reason: str | None = None
    rollback: bool = Field(
        default=False,
        description="run the undos of the completed steps first (the row says terminated once they are done)",
    )


class UpdateMetadata(_Strict):
    metadata: dict[str, Any] = Field(description="merged into the run's metadata; a key set to null is removed")
    replace: bool = Field(default=False, description="set exactly this metadata instead of merging")


class Restart(_Strict):
    reset_tracking: bool = True
    from_step: str | None = Field(
        default=None, description="keep the steps completed before this step.do name began; run it and the rest again"
    )


class RpcCall(_Strict):
    args: list[Any] = Field(default_factory=list)


class WorkflowError(BaseModel):
    name: str
    message: str


class WorkflowInfoOut(BaseModel):
    workflow_id: str = Field(description="the run's id: what every control takes (`/workflows/{workflow_id}`)")
    temporal_workflow_id: str = Field(description="the Temporal workflow id (find the run by it in Temporal UI)")
    workflow_name: str
    status: str
    params: dict[str, Any]
    metadata: dict[str, Any]
    progress: Any = None
    result: Any = None
    error: WorkflowError | None = None
    created_at: int = Field(description="epoch milliseconds")
    updated_at: int
    completed_at: int | None = None
    run_id: str | None = None
    waiting_for: str | None = Field(None, description="the event type a `waiting` run waits for")
    expires_at: int | None = Field(None, description="when a finished run with a retention is removed (epoch ms)")
    problem: dict[str, Any] | None = Field(
        None, description="what keeps an unfinished run from moving on (workflow tasks failing), or null"
    )

    @classmethod
    def of(cls, info: WorkflowInfo) -> WorkflowInfoOut:
        return cls(**dataclasses.asdict(info))


class BatchErrorOut(BaseModel):
    index: int = Field(description="the run's position in the batch")
    id: str | None
    error: str
    message: str


class WorkflowBatchOut(BaseModel):
    created: list[WorkflowInfoOut]
    errors: list[BatchErrorOut]

    @classmethod
    def of(cls, batch: Any) -> WorkflowBatchOut:
        errors = [BatchErrorOut(index=e.index, id=e.id, error=e.code, message=e.message) for e in batch.errors]
        return cls(created=[WorkflowInfoOut.of(info) for info in batch.created], errors=errors)


class WorkflowPageOut(BaseModel):
    workflows: list[WorkflowInfoOut]
    total: int
    next_cursor: str | None

    @classmethod
    def of(cls, page: WorkflowPage) -> WorkflowPageOut:
        return cls(
            workflows=[WorkflowInfoOut.of(w) for w in page.workflows], total=page.total, next_cursor=page.next_cursor
        )


class StateOut(BaseModel):
    state: dict[str, Any]
    version: int


class Deleted(BaseModel):
    deleted: int


class Accepted(BaseModel):
    accepted: bool = True


_ACCEPTED_BODY = Accepted().model_dump_json().encode()


def accepted() -> Response:
    """202 with `Accepted`'s body, written as it is. Routes return it directly (and keep
    `response_model=Accepted` for the schema): FastAPI then skips validating and
    serializing a constant, a tenth of an approval's time in the API."""
    return Response(_ACCEPTED_BODY, status_code=202, media_type="application/json")


class RpcResult(BaseModel):
    result: Any = None


class ScheduleOut(BaseModel):
    """One of an agent's schedules."""

    id: str
    workflow_name: str
    params: dict[str, Any]
    metadata: dict[str, Any]
    overlap: str
    created_at: int = Field(description="epoch milliseconds")
    cron: str | None = None
    every: str | None = None
    at: str | None = None
    paused: bool | None = Field(None, description="null when Temporal no longer has the schedule")
    runs_started: int = 0
    next_runs: list[str] = Field(default_factory=list, description="the next start times, ISO 8601")
    missing_in_temporal: bool = False

    @classmethod
    def of(cls, info: Any) -> ScheduleOut:
        return cls(**dataclasses.asdict(info))


class SchedulesOut(BaseModel):
    schedules: list[ScheduleOut]


class ScheduledCallOut(BaseModel):
    """One scheduled method call (Cloudflare's `Schedule`)."""

    id: str
    callback: str
    payload: Any = None
    type: str = Field(description="scheduled, delayed, cron or interval")
    time: int = Field(description="when it is next due, epoch seconds")
    created_at: int = Field(description="epoch milliseconds")
    delay_in_seconds: float | None = None
    cron: str | None = None
    interval_seconds: float | None = None
    attempts: int
    base_delay: float = Field(description="seconds before a failing call's second try; doubling after")
    max_delay: float = Field(description="the longest wait between two tries, seconds")

    @classmethod
    def of(cls, call: Any) -> ScheduledCallOut:
        return cls(**dataclasses.asdict(call))


class ScheduledCallsOut(BaseModel):
    schedules: list[ScheduledCallOut]


class QueuedCallOut(BaseModel):
    """One queued method call."""

    id: str
    callback: str
    payload: Any = None
    created_at: int = Field(description="epoch milliseconds")
    attempts: int
    base_delay: float = Field(description="seconds before a failing call's second try; doubling after")
    max_delay: float = Field(description="the longest wait between two tries, seconds")

    @classmethod
    def of(cls, call: Any) -> QueuedCallOut:
        return cls(**dataclasses.asdict(call))


class QueueOut(BaseModel):
    queue: list[QueuedCallOut] = Field(description="next first")


class Destroyed(BaseModel):
    destroyed: bool = True
