"""`ChatAgent`: Cloudflare's `AIChatAgent` on Temporal.

The conversation (AI SDK UI messages) is kept per agent in Redis, apart from its state.
A turn runs as a Temporal workflow (`workflows.ChatTurnWorkflow`): its model requests
and tool calls are durable steps, and the model's chunks reach every connected client
as they come. The agent says which model and tools answer in `on_chat_message`, called
in the worker at each model request.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, cast

import structlog
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from agents.actor.agent import Agent, State
from agents.chat import protocol
from agents.chat.assemble import apply_chunks, approval_responded
from agents.chat.store import ChatStore
from agents.control.runs import search_attributes
from agents.core.errors import AgentError, ConflictError, ValidationError
from agents.core.payloads import check_json
from workflows.contracts import AgentRef, Bridge, ChatSignal, ChatTurnInput

if TYPE_CHECKING:
    from agents.control.ports import ControlRuntime

log = structlog.get_logger("agents.chat")

CHAT_WORKFLOW_NAME = "chat"
"""The `AgentWorkflow` search attribute of chat turns (Temporal UI: `AgentWorkflow = "chat"`)."""
MAX_QUEUED_REQUESTS = 10
"""Requests that may wait behind a turn in progress; one more is refused."""
_STALE_CHECK_MS = 5_000
"""A recorded turn older than this is checked against Temporal before a request is refused
for it (a turn whose workflow was terminated by hand must not block the chat for good)."""


class ChatTurnError(AgentError):
    """A turn cannot go on, and trying again will not help: the provider refused the
    request (a bad key, an unknown model, a request too long for it), or
    `on_chat_message` raised. The turn ends with outcome `error` and this message."""


@dataclass
class ChatTool:
    """A server-side tool with the options of a durable step. A plain function in
    `ChatReply.tools` is a `ChatTool` with the defaults."""

    function: Callable[..., Any]
    """Called with the model's arguments, validated against its signature; its docstring
    and parameter annotations are what the model is told."""
    needs_approval: bool = False
    """The call waits (for days if need be) until a user approves or denies it."""
    retries: dict[str, Any] | None = None
    """As `step.do`'s `retries` (`{"limit": 3, "delay": "1 second", "backoff": "exponential"}`)."""
    timeout: float = 60.0
    """Seconds one try may take."""
    name: str | None = None
    """The name the model calls it by: the function's name unless given."""


@dataclass
class ChatReply:
    """What answers a turn: the model, its tools and its instructions."""

    model: Any
    """A model of the model library (pydantic-ai: `OpenAIChatModel(...)`, `FunctionModel(...)`)
    or a model name it understands (`"openai:gpt-4o"`, `"anthropic:claude-sonnet-4-5"`)."""
    tools: Sequence[Any] = ()
    """Functions, `ChatTool`s or pydantic-ai `Tool`s (`requires_approval=True` is honoured)."""
    instructions: str | None = None
    """The system prompt."""
    model_settings: dict[str, Any] | None = None
    """The model library's settings (`{"temperature": 0.2, "max_tokens": 1000}`)."""


@dataclass
class ChatRequest:
    """What `on_chat_message` is told of the turn it answers."""

    request_id: str
    message_id: str
    """The id of the assistant message being written."""
    body: dict[str, Any] = field(default_factory=dict)
    """The request body's extra fields (the client's `body` / `prepareBody`)."""


class ChatAgent(Agent[State]):
    """Subclass and override `on_chat_message` to say which model and tools answer."""

    __agent_base__ = True

    max_persisted_messages: ClassVar[int | None] = None
    """Messages kept (the oldest dropped past it); None keeps them all."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chat = ChatStore(self.runtime.redis, self.keys)
        self._messages: list[dict[str, Any]] = []

    @property
    def _control(self) -> ControlRuntime:
        return cast("ControlRuntime", self.runtime)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The transcript as last read (`refresh_messages`): read before every entry into
        chat code (frames, `on_chat_message`)."""
        return self._messages

    async def refresh_messages(self) -> list[dict[str, Any]]:
        self._messages = await self.chat.messages()
        return self._messages

    async def on_chat_message(self, request: ChatRequest) -> ChatReply:
        """Say which model and tools answer (called in the worker, at each model request
        of the turn, with `self.messages` and `self.state` fresh)."""
        raise NotImplementedError(f"{type(self).__name__} must override on_chat_message to answer chat messages")

    async def persist_messages(self, messages: list[dict[str, Any]], *, exclude: list[str] | None = None) -> None:
        """Store the transcript (nothing runs) and send it to the clients (but `exclude`)."""
        check_messages(messages)
        self._messages = await self.chat.save_messages(messages, cap=self.max_persisted_messages)
        await self.broadcast(protocol.messages_frame(self._messages), exclude=exclude)

    async def save_messages(self, messages: list[dict[str, Any]]) -> str:
        """Store the transcript and answer its last message, as a client's request would
        (a message from the server side: a scheduled reminder, an incoming email). The
        turn's request id."""
        await self.persist_messages(messages)
        return await self.start_turn(secrets.token_hex(4))

    async def clear(self) -> None:
        """Forget the conversation: a turn in progress is cancelled, the transcript and the
        requests waiting for their turn deleted."""
        await self.cancel_turn()
        await self.chat.clear()
        self._messages = []

    async def take_request(
        self,
        request_id: str,
        *,
        sent: list[dict[str, Any]] | None,
        trigger: str = "submit-message",
        body: dict[str, Any] | None = None,
        exclude: list[str] | None = None,
    ) -> bool:
        """A client's request (in the agent's turn): answered now, or, while a turn streams,
        queued and answered when it ends, in order (as Cloudflare does). True when queued.
        Refused (ValidationError) while a turn waits for a tool approval or result, and past
        `MAX_QUEUED_REQUESTS`."""
        messages = transcript_after(await self.refresh_messages(), sent, trigger)  # checks the request
        turn = await self.active_turn()
        if turn is not None:
            if turn["status"] == "waiting":
                raise ValidationError("the chat waits for a tool approval or result: answer it (or cancel) first")
            if await self.chat.queued_count() >= MAX_QUEUED_REQUESTS:
                raise ConflictError(f"{MAX_QUEUED_REQUESTS} requests wait already: wait for the answers")
            entry = {"request_id": request_id, "sent": sent, "trigger": trigger, "body": body or {}}
            await self.chat.enqueue(entry)
            return True
        await self.persist_messages(messages, exclude=exclude)
        await self.start_turn(request_id, body=body)
        return False

    async def start_queued(self) -> None:
        """Answer the next queued request, if no turn is in progress (as a turn ends). A
        request that no longer applies (its message is in the transcript: it started
        before a crash) is dropped; one whose turn cannot start gets an error response."""
        # Most turns end with nothing queued: then the turn is not taken. A request queues
        # in the agent's turn while a turn is recorded, so one queued before the caller
        # ended that turn is seen here, and one after it found no turn and started its own.
        if not await self.chat.queued_count():
            return
        async with self.turn():
            while await self.chat.turn() is None and (entry := await self.chat.next_queued()) is not None:
                request_id = entry["request_id"]
                try:
                    messages = transcript_after(await self.refresh_messages(), entry["sent"], entry["trigger"])
                    await self.persist_messages(messages)
                    await self.start_turn(request_id, body=entry["body"])
                except ValidationError:
                    log.info("a queued chat request no longer applies; dropped", request_id=request_id)
                except Exception as err:
                    log.exception("a queued chat request could not start", request_id=request_id)
                    await self.broadcast(protocol.error_frame(request_id, f"the request could not start: {err}"))
                await self.chat.drop_next_queued()

    async def approve_tool(self, tool_call_id: str) -> None:
        """Approve a tool call the turn in progress waits for (as the chat client's approve)."""
        await self.decide_tool_call(tool_call_id, approved=True)

    async def deny_tool(self, tool_call_id: str) -> None:
        """Deny a tool call the turn in progress waits for: it does not run; the model is told."""
        await self.decide_tool_call(tool_call_id, approved=False)

    async def decide_tool_call(
        self, tool_call_id: str, *, approved: bool | None = None, output: Any = None, error: str | None = None
    ) -> None:
        """A tool approval (`approved`) or a client tool's output (`output` or `error`):
        applied to the stored message (sent to the clients as updated), then to the waiting
        turn. When it was the last one the turn waited for, the turn goes on under a new
        request id (the client's resume probe picks it up as a continuation)."""
        async with self.turn():
            turn = await self.active_turn()
            if turn is None or turn["status"] != "waiting":
                raise ValidationError("no chat turn is waiting for a tool approval or result")
            awaiting: dict[str, str] = dict(turn.get("awaiting") or {})
            expected = "approval" if approved is not None else "client"
            if awaiting.get(tool_call_id) != expected:
                raise ValidationError(
                    f"the turn in progress is not waiting for an {expected} of tool call {tool_call_id!r}"
                )
            messages = await self.refresh_messages()
            index = next((i for i, m in enumerate(messages) if m["id"] == turn["message_id"]), None)
            if index is None:
                raise ValidationError("the message of the turn in progress is gone (the chat was cleared)")
            if approved is not None:
                updated = approval_responded(messages[index], tool_call_id, approved) or messages[index]
            else:
                chunk = (
                    {"type": "tool-output-error", "toolCallId": tool_call_id, "errorText": error}
                    if error is not None
                    else {"type": "tool-output-available", "toolCallId": tool_call_id, "output": output}
                )
                updated = apply_chunks(messages[index], [chunk])
            messages[index] = updated
            await self.persist_messages(messages)
            await self.broadcast(protocol.message_updated(updated))
            del awaiting[tool_call_id]
            request_id = None
            if not awaiting:
                request_id = secrets.token_hex(4)
                await self.chat.update_turn({**turn, "awaiting": {}, "request_id": request_id, "status": "streaming"})
            else:
                await self.chat.update_turn({**turn, "awaiting": awaiting})
            kind = "approval" if approved is not None else "tool_result"
            await self._signal(turn, ChatSignal(kind, tool_call_id, bool(approved), output, error, request_id))

    async def active_turn(self) -> dict[str, Any] | None:
        """The turn in progress (`request_id`, `message_id`, `workflow_id`, `status`), or None.
        A record whose workflow is gone (terminated by hand) is ended here (`_abandon`), and
        the turn of a request queued behind it, if one started, is the one returned."""
        turn = await self.chat.turn()
        if turn is None or turn.get("started_at", 0) > time.time() * 1000 - _STALE_CHECK_MS:
            return turn
        try:
            described = await self._control.temporal.get_workflow_handle(turn["workflow_id"]).describe()
            running = described.status == WorkflowExecutionStatus.RUNNING
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            running = False
        if running:
            return turn
        await self._abandon(turn)
        return await self.chat.turn()

    async def start_turn(self, request_id: str, *, body: dict[str, Any] | None = None) -> str:
        """Answer the transcript's last message in a new turn (a workflow). ConflictError
        while another turn is in progress."""
        body = dict(body or {})
        client_tools = body.pop("clientTools", None) or []
        message_id = f"msg_{secrets.token_hex(8)}"
        workflow_id = f"{self.agent_type}/{self.name}/chat/{request_id}"
        record = {
            "request_id": request_id,
            "first_request_id": request_id,
            "message_id": message_id,
            "workflow_id": workflow_id,
            "status": "streaming",
            "started_at": int(time.time() * 1000),
        }
        # The record is the guard; one left by a turn whose workflow is gone is cleared
        # (`active_turn`) and the start tried once more.
        if not await self.chat.start_turn(record) and (
            await self.active_turn() is not None or not await self.chat.start_turn(record)
        ):
            raise ConflictError("a chat turn is in progress: wait for it to end, or cancel it")
        turn = ChatTurnInput(AgentRef(self.agent_type, self.name), request_id, message_id, client_tools, body)
        try:
            await self._control.temporal.start_workflow(
                Bridge.CHAT_TURN_WORKFLOW,
                turn,
                id=workflow_id,
                task_queue=self._control.settings.task_queue,
                search_attributes=search_attributes(self, CHAT_WORKFLOW_NAME),
                static_summary=f"chat turn of {self.agent_type}/{self.name}",
            )
        except BaseException:
            await self.chat.end_turn([request_id])
            raise
        return request_id

    async def _signal(self, turn: dict[str, Any], signal: ChatSignal) -> None:
        """Send the turn `turn` (as read in this call) `signal`."""
        await self._control.temporal.get_workflow_handle(turn["workflow_id"]).signal(Bridge.SIGNAL_CHAT, signal)

    async def cancel_turn(self, request_id: str | None = None) -> bool:
        """Stop the turn in progress (only if its request id is `request_id`, when given):
        its model request is aborted and the partial answer kept, marked aborted (a turn
        whose workflow is gone is ended here, its partial answer lost with it). A queued
        request of that id is taken out of the queue (its client is told: aborted)."""
        if request_id is not None and await self.chat.unqueue(request_id):
            await self.broadcast(protocol.done_frame(request_id, "aborted", [], 0))
            return True
        turn = await self.chat.turn()
        if turn is None or (
            request_id is not None and request_id not in (turn["request_id"], turn["first_request_id"])
        ):
            return False
        try:
            await self._signal(turn, ChatSignal("cancel", request_id=turn["request_id"]))
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            await self._abandon(turn)
        return True

    async def end_turn_of(self, workflow_id: str) -> bool:
        """End the turn in progress if it is the workflow `workflow_id`'s, which ended
        without ending it (terminated, cancelled or failed in Temporal: the reconciler
        finds those, `EndsTurnsOfGoneWorkflows`); whether it was. In the agent's turn."""
        async with self.turn():
            turn = await self.chat.turn()
            if turn is None or turn["workflow_id"] != workflow_id:
                return False
            await self._abandon(turn)
            return True

    async def _abandon(self, turn: dict[str, Any]) -> None:
        """End the recorded turn `turn`, whose workflow is gone (terminated, cancelled or
        failed in Temporal): nothing else will, and the chat would refuse or queue requests
        behind it for good. Its clients are told, as of a turn cancelled, and the requests
        queued behind it go on."""
        log.warning("a chat turn's workflow ended without ending the turn; cleared", workflow_id=turn["workflow_id"])
        await self.chat.end_turn(list(dict.fromkeys([turn["first_request_id"], turn["request_id"]])))
        await self.broadcast(protocol.done_frame(turn["request_id"], "aborted", [turn["message_id"]], 0))
        await self.start_queued()


_ROLES = ("user", "assistant", "system")


def transcript_after(messages: list[dict[str, Any]], sent: Any, trigger: str) -> list[dict[str, Any]]:
    """The transcript a request asks to answer: the stored one with the client's new user
    message(s) (the history is the server's: what else the client sent is not taken), or,
    to regenerate, without the answer(s) after the last user message. ValidationError for
    a request that asks for nothing."""
    if trigger == "regenerate-message":
        messages = list(messages)
        while messages and messages[-1]["role"] == "assistant":
            messages.pop()
        if not messages:
            raise ValidationError("there is no message to answer again")
        return messages
    check_messages(sent)
    known = {m["id"] for m in messages}
    new = [m for m in sent if m["id"] not in known and m["role"] == "user"]
    if not new:
        raise ValidationError("the request carries no new user message")
    return [*messages, *new]


def check_messages(messages: Any) -> None:
    """A transcript as the AI SDK writes it: a list of `{id, role, parts}`."""
    if not isinstance(messages, list):
        raise ValidationError("messages must be a list of UI messages ({id, role, parts})")
    for message in messages:
        if (
            not isinstance(message, dict)
            or not isinstance(message.get("id"), str)
            or message.get("role") not in _ROLES
            or not isinstance(message.get("parts"), list)
        ):
            raise ValidationError(
                "each message needs 'id' (string), 'role' (user, assistant or system) and 'parts' (list)"
            )
    check_json(messages, what="messages")
