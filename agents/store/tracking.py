"""Tracking of the runs an agent started: one hash per run plus sorted-set indexes
(see `AgentKeys`), kept in step by the functions here. Status changes go through one
Lua script (`lua/run_transition.lua`) that applies the status rules (docs/contract.md)
atomically."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from agents.core.errors import AgentBusyError
from agents.core.keys import AgentKeys, index_member
from agents.core.messages import WORKFLOW_NAME_HOLE, envelope, workflow_status
from agents.store.scripts import lua

_RETIRED_KEPT = 8
"""Chains a row remembers as restarted away: their late reports are refused."""

CONTROL_LOCK_WAIT = 5.0
"""Seconds a pause or resume waits for another one of the same run to finish."""
CONTROL_LOCK_LEASE_MS = 15_000
"""How long a pause or resume may hold its run's lock: past its 5 s signal and its mark."""


class RunStatus(StrEnum):
    """A tracked run's status (a `str`: `RunStatus.WAITING == "waiting"`)."""

    QUEUED = "queued"
    """Started; no worker has taken it yet."""
    RUNNING = "running"
    WAITING = "waiting"
    """Blocked in `wait_for_event` / `wait_for_approval` (`waiting_for` says for what)."""
    PAUSED = "paused"
    """No new step starts until resumed."""
    COMPLETE = "complete"
    ERRORED = "errored"
    TERMINATED = "terminated"


STATUSES = tuple(RunStatus)
FINISHED = (RunStatus.COMPLETE, RunStatus.ERRORED, RunStatus.TERMINATED)


# Which retention (a start's `retention`: `success` or `error`) a finished status starts.
_RETENTION_KIND = {RunStatus.COMPLETE: "success", RunStatus.ERRORED: "error", RunStatus.TERMINATED: "error"}

# Which statuses each target may replace (the status rules of docs/contract.md).
_FROM = {
    "running": "queued,waiting,running",
    "waiting": "queued,running,waiting",
    "paused": "queued,running,waiting,paused",
    # A run that reports its end has ended, whatever a pause said: it paused too late
    # (its last step was done) or its report overtook the pause's mark.
    "complete": "queued,running,waiting,paused,complete",
    "errored": "queued,running,waiting,paused,errored",
    "terminated": "*",
    "queued": "*",
}


def _encode(name: str, value: Any) -> Any:
    """A row field as stored: timestamps as they are, everything else as JSON."""
    return value if name.endswith("_at") else json.dumps(value)


def retention_key(prefix: str) -> str:
    """Sorted set of every agent's finished runs with a retention, by when they expire."""
    return f"{prefix}retention"


def due_member(keys: AgentKeys, tracking_id: str) -> str:
    return json.dumps([keys.agent_type, keys.name, tracking_id], separators=(",", ":"))


def now_ms() -> int:
    return int(time.time() * 1000)


def metadata_index_value(value: Any) -> str | None:
    """How a metadata value is indexed (and how a filter value must be written):
    strings as they are, numbers and booleans as JSON; other values are not indexed.
    So the string "1" and the number 1 share an index: a filter compares text (an HTTP
    query has no types), which docs/internals/reliability.md states."""
    if isinstance(value, str):
        return value if len(value) <= 256 else None
    if isinstance(value, (bool, int, float)) or value is None:
        return json.dumps(value)
    return None


@dataclass(slots=True)
class WorkflowInfo:
    """A tracked run, as `get_workflow` and the HTTP API return it."""

    workflow_id: str
    """The run's id for every control (`approve_workflow(workflow_id)`, HTTP
    `/workflows/{workflow_id}`): `wf_<random>` unless given at start."""
    temporal_workflow_id: str
    """The Temporal workflow id (`{agent type}/{agent name}/{workflow_id}`): find the run
    by it in Temporal UI and the Temporal CLI."""
    workflow_name: str
    status: RunStatus
    params: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    progress: Any = None
    result: Any = None
    error: dict[str, str] | None = None
    created_at: int = 0
    updated_at: int = 0
    completed_at: int | None = None
    run_id: str | None = None
    """Temporal run id of the current execution (changes on restart)."""
    waiting_for: str | None = None
    """The event type a `waiting` run waits for (`approval` for `wait_for_approval`)."""
    expires_at: int | None = None
    """When a finished run with a retention is removed (epoch ms)."""
    problem: dict[str, Any] | None = None
    """What keeps an unfinished run from moving on, as Temporal shows it: `{kind:
    "workflow_task_failing", attempts, since, message}` while its workflow tasks keep
    failing (say, a worker without the workflow's code); None when all is well."""

    @classmethod
    def from_hash(cls, raw: dict[str, str]) -> WorkflowInfo:
        def js(name: str, default: Any = None) -> Any:
            value = raw.get(name)
            return default if value in (None, "") else json.loads(value)

        return cls(
            # Stored under their first names (`id`, `workflow_id`), which the scripts read.
            workflow_id=raw["id"],
            temporal_workflow_id=raw["workflow_id"],
            workflow_name=raw["workflow_name"],
            status=RunStatus(raw["status"]),
            params=js("params", {}),
            metadata=js("metadata", {}),
            progress=js("progress"),
            result=js("result"),
            error=js("error"),
            created_at=int(raw["created_at"]),
            updated_at=int(raw.get("updated_at") or raw["created_at"]),
            completed_at=int(raw["completed_at"]) if raw.get("completed_at") else None,
            run_id=raw.get("run_id") or None,
            waiting_for=js("waiting_for") if raw.get("status") == "waiting" else None,
            expires_at=int(raw["expires_at"]) if raw.get("expires_at") else None,
            problem=js("problem") if raw.get("status") not in FINISHED else None,
        )

    @property
    def member(self) -> str:
        return index_member(self.created_at, self.workflow_id)


@dataclass(frozen=True, slots=True)
class BatchError:
    """A run of a batch that did not start (Cloudflare's `createBatch` error entry)."""

    index: int
    """Its position in the batch."""
    id: str | None
    """The id it asked for, if any."""
    code: str
    """As the HTTP API's errors say it: `invalid`, `conflict`, ..."""
    message: str


@dataclass(frozen=True, slots=True)
class WorkflowBatch:
    """What `create_workflow_batch` started, and what it did not."""

    created: list[WorkflowInfo]
    """The runs started, in the batch's order."""
    errors: list[BatchError]


def _index_keys(keys: AgentKeys, info: WorkflowInfo) -> list[str]:
    out = [keys.runs, keys.runs_by_status(info.status), keys.runs_by_name(info.workflow_name)]
    return out + _metadata_keys(keys, info.metadata)


def _metadata_keys(keys: AgentKeys, metadata: dict[str, Any]) -> list[str]:
    """The indexes a run with this metadata is listed in (one per indexed value)."""
    out = []
    for key, value in metadata.items():
        indexed = metadata_index_value(value)
        if indexed is not None:
            out.append(keys.runs_by_metadata(key, indexed))
    return out


def _tracked(raw: dict[str, str]) -> WorkflowInfo | None:
    """A row from its hash; None for no hash (or a stray field without a row)."""
    return WorkflowInfo.from_hash(raw) if raw.get("workflow_id") else None


def _row(flat: list[str]) -> WorkflowInfo | None:
    """A row from a script's HGETALL reply (a flat field, value list)."""
    return _tracked(dict(zip(flat[::2], flat[1::2], strict=True)))


@dataclass(kw_only=True)
class Transition:
    """A status change asked of `RunTracker.transition`: moved only if the status rules
    (and the options below) allow, in one atomic step (`lua/run_transition.lua`)."""

    status: str
    fields: dict[str, Any] = field(default_factory=dict)
    """Fields to write (JSON-encoded) with the move."""
    only_from: str | None = None
    """Comma-separated statuses the move is allowed from, overriding the default rule,
    for moves such as resume (`paused` -> `running`) that only one control may make."""
    fields_always: bool = False
    """Write `fields` even when the rule keeps the status."""
    run_id: str | None = None
    """The reporter's chain: a report from an execution other than the row's current
    one changes nothing."""
    when: tuple[str, Any] | None = None
    """`(field, value)`: nothing changes unless the row's `field` holds `value`."""
    announce: dict[str, Any] | None = None
    """A message for the agent's clients, published in the same atomic step if (and
    only if) the status changed, so clients see changes in write order."""
    marks: tuple[str, str] | None = None
    """A control's mark after it delivered an event: the event's id and type (see
    `RunTracker.mark_resumed`)."""
    consumed: Sequence[str] = ()
    """Ids of events the run has taken since its last report (or, for a restart, those
    its old run was sent), recorded whatever else happens."""
    unless_pending: str | None = None
    """An event type: while an event of that type is delivered and not yet taken, the
    run goes `running` instead (it takes the event at once), announced with
    `announce_instead`, no field written."""
    announce_instead: dict[str, Any] | None = None
    reported_controls: int | None = None
    """The run reports the pause or resume it took as its n-th: applied only if newer
    than the last it reported (signals are ordered in the run's history; their reports
    may land in any order)."""
    control_mark: bool = False
    """A pause or resume control's mark after its signal, under `control_lock`: applied
    only if the run has not yet reported taking that signal (or a later one)."""
    restart: bool = False
    """A restart's write once its new chain (`run_id`) started, after `retire`: should a
    report of that chain have landed first, only `fields` are written and its status
    stands."""
    reporter_run: str | None = None
    """The reporting execution's own run id, recorded when it finishes the row
    (`ended_run`); a report of the same chain from another run reopens a finished row (a
    reset with Temporal's CLI or UI ran the run again), its result, error and retention
    cleared."""
    progress_mark: str | None = None
    """A progress report's `<run id>:<n>`: one older than the progress shown is not
    written, and one older than the run's last status report (`progress_fence`) never
    moves the status: a worker the run has left may deliver a report late."""
    progress_fence: str | None = None
    """A status report's count of progress reports its run had posted, `<run id>:<n>`."""

    def argv(self) -> list[Any]:
        """The ARGV of `lua/run_transition.lua`, in its order."""
        ts = now_ms()
        fields = dict(self.fields)
        if self.status in FINISHED:
            fields.setdefault("completed_at", ts)
        when, status = self.when, self.status
        args: list[Any] = [status, ts, self.only_from or _FROM[status], int(self.fields_always), self.run_id or ""]
        args += [when[0], _encode(when[0], when[1])] if when else ["", ""]
        args.append(envelope(self.announce) if self.announce is not None else "")
        args += [",".join(STATUSES), _RETENTION_KIND.get(status, "")]
        args += [*(self.marks or ("", "")), ",".join(self.consumed), self.unless_pending or ""]
        args.append(envelope(self.announce_instead) if self.announce_instead is not None else "")
        args += ["" if self.reported_controls is None else self.reported_controls, "1" if self.control_mark else ""]
        args += ["1" if self.restart else "", self.reporter_run or "", self.progress_mark or ""]
        args.append(self.progress_fence or "")
        for name, value in fields.items():
            args += [name, _encode(name, value)]
        return args


class RunTracker:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._transition = redis.register_script(lua("run_transition"))
        self._create = redis.register_script(lua("run_create"))
        self._set_field = redis.register_script(lua("run_set_field"))
        self._get_many = redis.register_script(lua("runs_get_many"))
        self._release = redis.register_script(lua("turn_release"))
        self._delete = redis.register_script(lua("run_delete"))
        self._recreate = redis.register_script(lua("run_recreate"))
        self._metadata = redis.register_script(lua("run_metadata"))

    async def create(self, keys: AgentKeys, info: WorkflowInfo, *, retention: dict[str, int] | None = None) -> bool:
        """Insert a new row; False (and nothing written) if the id is already tracked.
        `retention` maps `success` / `error` to milliseconds kept after finishing."""
        fields: dict[str, Any] = {
            "id": info.workflow_id,
            "workflow_id": info.temporal_workflow_id,
            "workflow_name": info.workflow_name,
            "status": info.status,
            "params": json.dumps(info.params),
            "metadata": json.dumps(info.metadata),
            "created_at": info.created_at,
            "updated_at": info.created_at,
            "member": info.member,
        }
        for kind, ms in (retention or {}).items():
            fields[f"retention_{kind}"] = ms
        pairs = [item for pair in fields.items() for item in pair]
        created = await self._create(
            keys=[keys.run(info.workflow_id), *_index_keys(keys, info)], args=[info.member, *pairs]
        )
        return bool(created)

    async def get(self, keys: AgentKeys, tracking_id: str) -> WorkflowInfo | None:
        """The tracked row, or None; a row whose retention ran out is removed and None."""
        return await self._unexpired(keys, tracking_id, _tracked(await self._redis.hgetall(keys.run(tracking_id))))

    async def _unexpired(self, keys: AgentKeys, tracking_id: str, info: WorkflowInfo | None) -> WorkflowInfo | None:
        """`info`, or None (and the row removed) when its retention ran out."""
        if info is not None and info.expires_at is not None and info.expires_at <= now_ms():
            await self.delete(keys, tracking_id)
            return None
        return info

    async def get_many(self, keys: AgentKeys, tracking_ids: list[str]) -> list[WorkflowInfo]:
        """The tracked rows among `tracking_ids`, in order, in one command: a page of 50
        as 50 pipelined HGETALLs cost twice as much, most of it packing and parsing."""
        if not tracking_ids:
            return []
        rows = await self._get_many(keys=[keys.run(t) for t in tracking_ids])
        return [info for raw in rows if (info := _row(raw)) is not None]

    async def delete(
        self, keys: AgentKeys, tracking_id: str, *, member: str | None = None, indexes: Sequence[str] = ()
    ) -> bool:
        """Delete a row and its index entries in one step (a transition meanwhile cannot
        leave it in a status index). `member` and `indexes`: a stray's index entry found
        by a walk (an entry whose row is gone), removed from those indexes too. Whether a
        row was deleted."""
        info = _tracked(await self._redis.hgetall(keys.run(tracking_id)))
        member = member or (info.member if info is not None else None)
        if member is None:
            await self._redis.delete(keys.run(tracking_id))  # a half-created row, if any
            return False
        # The name never changes, and metadata only with its indexes (update_metadata): the
        # indexes they name are the ones read here.
        named = _index_keys(keys, info)[2:] if info is not None else []
        every = dict.fromkeys(
            [keys.runs, keys.runs_expiry, *(keys.runs_by_status(s) for s in STATUSES), *named, *indexes]
        )
        return bool(await self._delete(keys=[keys.run(tracking_id), *every], args=[member]))

    async def update_metadata(
        self, keys: AgentKeys, tracking_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> WorkflowInfo | None:
        """Set a row's metadata to `change(metadata as it is)`, moving the row between
        the metadata indexes in the same step; the row afterwards, or None if not tracked.
        A concurrent update makes this read again and apply `change` to its result."""
        while True:
            raw = await self._redis.hgetall(keys.run(tracking_id))
            if (info := await self._unexpired(keys, tracking_id, _tracked(raw))) is None:
                return None
            metadata = change(dict(info.metadata))
            old_indexes, new_indexes = _metadata_keys(keys, info.metadata), _metadata_keys(keys, metadata)
            done = await self._metadata(
                keys=[keys.run(tracking_id), *old_indexes, *new_indexes],
                args=[raw.get("metadata", ""), json.dumps(metadata), len(old_indexes)],
            )
            if done == -1:
                return None
            if done == 1:  # the row as read, with the metadata written
                return dataclasses.replace(info, metadata=metadata)

    async def recreate(self, keys: AgentKeys, tracking_id: str) -> None:
        """Give a row a new `created_at` (now), moving it in every index in one step: a
        restarted run counts as new and comes first in lists, as on Cloudflare."""
        info = _tracked(await self._redis.hgetall(keys.run(tracking_id)))
        if info is None:
            return
        plain = [keys.runs, *_index_keys(keys, info)[2:]]
        await self._recreate(
            keys=[keys.run(tracking_id), keys.runs_expiry, *plain, *(keys.runs_by_status(s) for s in STATUSES)],
            args=[now_ms(), len(plain), ",".join(STATUSES), tracking_id],
        )

    @asynccontextmanager
    async def control_lock(
        self, keys: AgentKeys, tracking_id: str, *, wait: float = CONTROL_LOCK_WAIT
    ) -> AsyncIterator[None]:
        """Hold the run's pause/resume lock: such controls signal and mark one at a time,
        whichever API process they come through, so their marks land in the order their
        signals reached the run (and each mark knows its signal's number: see
        `transition(control_mark=True)`); restarts hold it too. A holder that dies frees
        it after CONTROL_LOCK_LEASE_MS; AgentBusyError (503) after `wait` seconds."""
        key, token = keys.run_control(tracking_id), secrets.token_hex(8)
        deadline = time.monotonic() + wait
        while not await self._redis.set(key, token, nx=True, px=CONTROL_LOCK_LEASE_MS):
            if time.monotonic() >= deadline:
                raise AgentBusyError(f"another pause or resume of workflow {tracking_id!r} is under way; try again")
            await asyncio.sleep(0.005)
        try:
            yield
        finally:
            await self._release(keys=[key], args=[token])

    async def retire(self, keys: AgentKeys, tracking_id: str, run_id: str) -> None:
        """Before a restart starts its new chain: the row follows no chain for now (the
        new one's first report is taken), and reports of `run_id`'s are refused from now
        on (an approval completing it right now must not land on the new chain)."""
        retired = (await self._redis.hget(keys.run(tracking_id), "retired") or "").split()
        if run_id:
            retired = [run_id, *[r for r in retired if r != run_id]][:_RETIRED_KEPT]
        await self._set_field(keys=[keys.run(tracking_id)], args=["run_id", "", "retired", " ".join(retired)])

    async def unretire(self, keys: AgentKeys, tracking_id: str, run_id: str) -> None:
        """Undo `retire`: the restart did not start a new chain, `run_id`'s goes on."""
        retired = (await self._redis.hget(keys.run(tracking_id), "retired") or "").split()
        kept = " ".join(r for r in retired if r != run_id)
        await self._set_field(keys=[keys.run(tracking_id)], args=["run_id", run_id, "retired", kept])

    async def retired(self, keys: AgentKeys, tracking_id: str) -> list[str]:
        """The chains restarts retired from this row, newest first."""
        return (await self._redis.hget(keys.run(tracking_id), "retired") or "").split()

    async def set_run_id(self, keys: AgentKeys, tracking_id: str, run_id: str) -> WorkflowInfo | None:
        """Record the Temporal run a row now follows; the row as it is afterwards (one
        round trip), or None if it is not tracked (nothing is written then)."""
        return _row(await self._set_field(keys=[keys.run(tracking_id)], args=["run_id", run_id]))

    async def set_problem(self, keys: AgentKeys, tracking_id: str, problem: dict[str, Any] | None) -> None:
        """Record (or clear, with None) what keeps a running run from moving on."""
        value = "" if problem is None else json.dumps(problem)
        await self._set_field(keys=[keys.run(tracking_id)], args=["problem", value])

    async def transition(self, keys: AgentKeys, tracking_id: str, change: Transition) -> tuple[str, bool] | None:
        """Move a run as `change` says, if the rules allow. Returns (status afterwards,
        whether it changed), or None when not tracked."""
        result = await self._run_transition(keys, tracking_id, change.argv())
        return (result[0], bool(result[1])) if result else None

    async def mark_resumed(self, keys: AgentKeys, tracking_id: str, event_type: str, event_id: str) -> bool:
        """After an event was delivered: mark the run `running` (announced to its
        clients) if it is `waiting` for `event_type`, and note the event as pending
        (delivered, not yet taken): a `waiting` report for that type that lands while it
        is pending makes the run `running` instead, since the run takes the event at once
        (it was about to wait, or another event ended the wait this mark found). The run
        records each event it takes with its next report, which also clears it from
        pending; a mark for an event already taken does nothing, so a late mark never
        lands on a later wait. Whether the row moved."""
        change = Transition(
            status=RunStatus.RUNNING,
            only_from="waiting",
            when=("waiting_for", event_type),
            announce=workflow_status(tracking_id, WORKFLOW_NAME_HOLE, RunStatus.RUNNING),
            fields={"waiting_for": None},
            marks=(event_id, event_type),
        )
        result = await self._run_transition(keys, tracking_id, change.argv())
        return bool(result and result[1])

    async def _run_transition(self, keys: AgentKeys, tracking_id: str, args: list[Any]) -> list[Any]:
        result = await self._transition(
            keys=[
                keys.run(tracking_id),
                keys.runs_expiry,
                keys.channel,
                *(keys.runs_by_status(s) for s in STATUSES),
                keys.events_taken(tracking_id),
                keys.events_pending(tracking_id),
            ],
            args=args,
        )
        if result and len(result) > 2 and result[2]:
            # Due for removal: on the process-wide list the reconciler drains, so retention
            # holds without anyone reading the agent (a separate key: it spans agents).
            await self._redis.zadd(retention_key(keys.prefix), {due_member(keys, tracking_id): int(result[2])})
        return result
