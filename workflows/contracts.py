"""What crosses between workflow code and the bridge activities.

Pure dataclasses and names, no I/O imports: workflow code (in the sandbox) and the
activities (in the worker) both import this module. Fields have defaults so that
fields can be added later without breaking running workflows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class AgentRef:
    """The agent that started a run: its type (`task-agent`) and name (`alice`)."""

    agent_type: str
    name: str


@dataclass
class AgentWorkflowInput:
    """The argument of a run started by the agent layer. A run started any other way
    (Temporal CLI or UI, another service's client) passes its params alone: the
    `kind` marker tells the two apart."""

    params: dict[str, Any] = field(default_factory=dict)
    agent: AgentRef | None = None
    """None for a standalone run (started without an agent)."""
    tracking_id: str | None = None
    """The id the agent tracks the run under (the user-facing workflow id)."""
    metadata: dict[str, Any] = field(default_factory=dict)
    carried: dict[str, Any] | None = None
    """What a run hands to its continuation (continue-as-new): completed steps' results,
    buffered events, whether it reported and whether it is paused."""
    kind: str = "agent-workflow/v1"

    @classmethod
    def of(cls, raw: Any) -> AgentWorkflowInput:
        """The input of a run, whoever started it."""
        if isinstance(raw, AgentWorkflowInput):
            return raw
        if isinstance(raw, dict) and raw.get("kind") == "agent-workflow/v1":
            agent = raw.get("agent")
            return cls(
                params=raw.get("params") or {},
                agent=AgentRef(**agent) if isinstance(agent, dict) else None,
                tracking_id=raw.get("tracking_id"),
                metadata=raw.get("metadata") or {},
                carried=raw.get("carried"),
            )
        return cls(params=raw if isinstance(raw, dict) else {})


@dataclass
class RunRef:
    """Identifies the calling run to the bridge activities."""

    agent: AgentRef
    tracking_id: str | None
    workflow_name: str
    execution: str | None = None
    """First run id of the run's execution chain: after a restart, writes from the old
    chain are recognised and ignored."""
    run_id: str | None = None
    """The reporting execution's own run id: a run reset with Temporal's CLI or UI starts
    again as a new run of the same chain, and its status reports reopen a row that
    another run of the chain had finished (see `RunTracker.transition`). Progress, which
    may arrive late from an earlier run of a continue-as-new chain, never reopens."""


@dataclass
class WorkflowEventSignal:
    """An event sent to a run (`send_workflow_event`, approvals)."""

    type: str
    payload: Any = None
    resumes: bool = False
    """Set only by agents before `id` existed: they marked the run `running` as they sent
    this, so the run did not report `running` again when it woke. Kept for their signals
    still in histories."""
    id: str = ""
    """Unique per event: the agent marks the run `running` after the signal, and the run
    records the ids it takes, so that mark never lands on a later wait
    (`RunTracker.mark_resumed`). Empty from agents of earlier versions."""


@dataclass
class StateWriteInput:
    run: RunRef
    mode: Literal["set", "merge", "reset"]
    values: dict[str, Any] = field(default_factory=dict)


CARRIED_WRITES_HEADER = "agents-state-writes"
"""Activity header: the run's state writes made since its last command, applied by the
worker that takes the activity before the activity's own code runs."""

CARRIED_WRITES_HAND_BACK = "agents-state-writes-hand-back"
"""Activity header, beside CARRIED_WRITES_HEADER: the step that started the activity takes
its writes back when they cannot be applied at once (Redis away, the agent's turn held).
The worker then fails the activity's first attempt with CARRIED_WRITES_NOT_APPLIED, before
the step's own code runs; the step applies the writes on their own, retried until they
land, and starts its activity again, so a Redis outage does not spend the step's tries."""

CARRIED_WRITES_NOT_APPLIED = "CarriedWritesNotApplied"
"""ApplicationError type: an activity handed back the writes it carried (see above)."""


@dataclass
class CarriedWrite:
    """A state write that goes out with the run's next activity (see `AgentWorkflow`)."""

    id: str
    """The write's identity, `merge_agent_state#3`: its effect marker, and what a
    continuation on new code counts as done."""
    write: StateWriteInput


@dataclass
class ReportInput:
    run: RunRef
    outcome: Literal["complete", "error", "terminated"]
    """`terminated`: a run terminated with rollback, its undos done (no hook is called,
    as for a terminate)."""
    result: Any = None
    error: dict[str, str] | None = None


@dataclass
class SendEventInput:
    run: RunRef
    event: Any = None


@dataclass
class ProgressInput:
    run: RunRef
    progress: Any = None
    seq: int | None = None
    """The report's number in its run (1, 2, ...): a report older than the run's last
    status report (which carries the count, `StatusInput.progress_seq`) never moves the
    row's status, and one older than the progress shown is not written."""


@dataclass
class BroadcastInput:
    run: RunRef
    message: Any = None


@dataclass
class AgentCallInput:
    run: RunRef
    method: str
    args: list[Any] = field(default_factory=list)
    target: AgentRef | None = None
    """Another agent whose method is called (`AgentWorkflow.get_agent`); None: the run's."""


@dataclass
class TrackInput:
    """A run started for an agent by something that could not track it first (a
    schedule): the run registers its own tracking row."""

    run: RunRef
    params: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class StatusInput:
    run: RunRef
    status: Literal["running", "waiting", "paused"]
    """What the run reports of itself; the agent's controls set the other statuses."""
    waiting_for: str | None = None
    """With `waiting`: the event type the run waits for (the agent checks it on delivery)."""
    consumed: list[str] = field(default_factory=list)
    """Ids of the events the run took since its last report (see WorkflowEventSignal.id)."""
    progress_seq: int | None = None
    """How many progress reports the run had posted when it made this one: progress
    delivered late (by a worker the run has since left) never undoes this status."""
    controls: int | None = None
    """Set when the report answers a pause or resume signal: how many of those the run
    has taken (`paused`, or what it does on resuming). Only the newest such report
    counts, whatever order the reports land in."""


@dataclass
class InlineStepInput:
    """Which parked step body to run (see `workflows.inline`), for which run."""

    key: str
    run: RunRef | None = None


@dataclass
class MethodCallInput:
    """One scheduled call of an agent method (`Agent.schedule`): what the
    `agents.method_call` workflow runs when its time comes."""

    agent: AgentRef
    schedule_id: str
    method: str
    payload: Any = None
    recurring: bool = False
    """A cron or interval schedule: its row stays after a call (a one-shot's goes)."""
    attempts: int = 5
    """How many times a failing call is tried (with backoff) before it is given up."""
    base_delay: float = 1.0
    """Seconds before the second try; the wait doubles each time, at most `max_delay`."""
    max_delay: float = 60.0


@dataclass
class QueueInput:
    """The agent whose queued calls (`Agent.queue`) the `agents.queue` workflow runs."""

    agent: AgentRef
    done: int = 0
    """Calls run by earlier runs of the chain (continue-as-new)."""


@dataclass
class QueuedCallRef:
    """One queued call, as the queue workflow names it to the activities."""

    agent: AgentRef
    call_id: str
    method: str = ""
    attempts: int = 5
    """How many times the call is tried (with backoff) before it is dropped."""
    base_delay: float = 1.0
    """Seconds before the second try; the wait doubles each time, at most `max_delay`."""
    max_delay: float = 60.0


class Bridge:
    """Activity names of the bridge (registered by the worker's plugin)."""

    STATE = "agents.state"
    REPORT = "agents.report"
    SEND_EVENT = "agents.send_event"
    PROGRESS = "agents.progress"
    DELIVERED = "agents.delivered"
    BROADCAST = "agents.broadcast"
    CALL = "agents.call"
    STATUS = "agents.status"
    TRACK = "agents.track"
    INLINE_STEP = "agents.inline_step"
    CALL_METHOD = "agents.call_method"
    FORGET_CALL = "agents.forget_call"
    NEXT_QUEUED = "agents.next_queued"
    RUN_QUEUED = "agents.run_queued"
    DROP_QUEUED = "agents.drop_queued"
    UNREGISTERED = "agents.unregistered"

    CHAT_MODEL = "agents.chat_model"
    CHAT_TOOL = "agents.chat_tool"
    CHAT_FINISH = "agents.chat_finish"

    METHOD_CALL_WORKFLOW = "agents.method_call"
    CHAT_TURN_WORKFLOW = "agents.chat_turn"
    SIGNAL_CHAT = "agents.chat"
    QUEUE_WORKFLOW = "agents.queue"
    SIGNAL_WAKE = "agents.wake"

    SIGNAL_EVENT = "agents.event"
    SIGNAL_PAUSE = "agents.pause"
    SIGNAL_RESUME = "agents.resume"


@dataclass
class UnregisteredInput:
    """A run of a workflow type no worker on its task queue registers (see
    `workflows._unregistered`): logged once, and the schedule that started it paused."""

    workflow_type: str
    message: str
    schedule_id: str | None = None


@dataclass
class ChatToolCall:
    """A tool call the model made, as the chat turn workflow acts on it."""

    tool_call_id: str
    tool_name: str
    args: Any = None
    kind: Literal["server", "approval", "client"] = "server"
    """`server`: run as a step; `approval`: run as a step once approved; `client`: the
    browser runs it and sends the output."""
    retries: dict[str, Any] | None = None
    """The tool's step retries (`StepRetries` fields), None for the default."""
    timeout: float = 60.0
    """Seconds one try of the tool may take."""


@dataclass
class ChatToolOutcome:
    """What became of one tool call: its output, its error, or a denial."""

    tool_call_id: str
    tool_name: str
    output: Any = None
    error: str | None = None
    denied: bool = False


@dataclass
class ChatExchange:
    """One model response of a turn (the model library's JSON of it) and what its tool
    calls gave back: what the next model request is sent after the transcript."""

    response: Any = None
    outcomes: list[ChatToolOutcome] = field(default_factory=list)


@dataclass
class ChatTurnInput:
    """A chat turn: the agent, the client's request id its frames go out under, and the
    id of the assistant message it writes."""

    agent: AgentRef
    request_id: str
    message_id: str
    client_tools: list[dict[str, Any]] = field(default_factory=list)
    """Tools the browser runs (`{name, description?, parameters?}`), offered to the model."""
    body: dict[str, Any] = field(default_factory=dict)
    """The request body's fields other than `messages` and `trigger` (the client's `body`)."""


@dataclass
class ChatModelInput:
    """One model request of a turn (a step): it streams its chunks to the clients."""

    turn: ChatTurnInput
    request_id: str
    """The request id frames go out under now (a continuation after an approval has its own)."""
    step: int
    exchanges: list[ChatExchange] = field(default_factory=list)
    continuation: bool = False
    request_ids: list[str] = field(default_factory=list)
    """Every request id of the turn so far (the last is `request_id`)."""


@dataclass
class ChatModelResult:
    response: Any = None
    tool_calls: list[ChatToolCall] = field(default_factory=list)
    request_id: str | None = None
    """Set when the step was tried again (its worker died mid-answer): the turn went on
    under this request id, a stream that starts over with everything before the step."""


@dataclass
class ChatToolInput:
    turn: ChatTurnInput
    request_id: str
    call: ChatToolCall
    continuation: bool = False
    denied: bool = False
    """The call was denied: nothing runs; the clients are told."""
    outcome: ChatToolOutcome | None = None
    """Set for a client tool: its output as the browser sent it, announced to the clients."""


@dataclass
class ChatFinishInput:
    turn: ChatTurnInput
    request_id: str
    outcome: Literal["completed", "error", "aborted"] = "completed"
    error: str | None = None
    continuation: bool = False
    request_ids: list[str] = field(default_factory=list)
    """Every request id the turn's frames went out under, in order (the first, then each
    continuation's): the stored message is assembled from all of their chunks."""
    awaiting: dict[str, str] = field(default_factory=dict)
    """Tool calls the turn now waits for (id -> `approval` or `client`): the stream ends, the turn does not."""


@dataclass
class ChatSignal:
    """What a chat agent tells its turn: `approval` (of `tool_call_id`), `tool_result` (of
    a client tool), or `cancel`. `request_id`: the id the continuation's frames go out under."""

    kind: Literal["approval", "tool_result", "cancel"]
    tool_call_id: str | None = None
    approved: bool = False
    output: Any = None
    error: str | None = None
    request_id: str | None = None
