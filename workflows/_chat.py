"""`ChatTurnWorkflow`: one turn of a chat agent (`agents.chat.ChatAgent`), durable.

Each model request is an activity that streams its chunks to the agent's clients as the
model produces them; each server tool call is an activity of its own (a tool that
completed never runs again, whatever fails later); tools that need approval, and tools
the browser runs, leave the turn waiting (a signal per decision) for as long as it takes.
The model and the tools are the agent's (`on_chat_message`): workflow code only decides
what runs next, with the model library's messages carried as JSON it does not read.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError

from ._errors import error_info
from ._retries import StepRetries
from ._run import BRIDGE_RETRY, BRIDGE_TIMEOUT
from .contracts import (
    Bridge,
    ChatExchange,
    ChatFinishInput,
    ChatModelInput,
    ChatModelResult,
    ChatSignal,
    ChatToolCall,
    ChatToolInput,
    ChatToolOutcome,
    ChatTurnInput,
)

MODEL_TIMEOUT = timedelta(minutes=10)
"""How long one model request may stream."""
MODEL_HEARTBEAT = timedelta(seconds=5)
"""A model request that has not heartbeated for this long (a dead worker) is tried again
elsewhere: the library's default of 30 s would leave the user waiting that long."""
MODEL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30), maximum_attempts=20
)
"""A provider's 5xx, a rate limit or a lost worker is tried again (about ten minutes in
all); what will not mend (a bad key, an unknown model, a bug in `on_chat_message`) fails
the activity for good at once, and the turn ends with its message."""
_LOCAL_FINISH = "agents.chat-finish-local"
"""The end of a turn is a local activity: it is short and safe to run again, and as one
it rides the workflow task that takes the model's answer instead of costing the server an
activity task and a workflow task more (figures: docs/internals/performance.md, "Chat")."""
MAX_STEPS = 50
"""Model requests in one turn, at most (a model that keeps calling tools ends there)."""


@workflow.defn(name=Bridge.CHAT_TURN_WORKFLOW)
class ChatTurnWorkflow:
    def __init__(self) -> None:
        self._decisions: dict[str, ChatSignal] = {}
        self._cancelled: str | None = None
        self._request_id: str | None = None
        self._request_ids: list[str] = []

    @workflow.signal(name=Bridge.SIGNAL_CHAT)
    def on_signal(self, signal: ChatSignal) -> None:
        if signal.kind == "cancel":
            self._cancelled = signal.request_id or self._request_id
        elif signal.tool_call_id:
            self._decisions.setdefault(signal.tool_call_id, signal)

    @workflow.run
    async def run(self, turn: ChatTurnInput) -> str:
        self._request_id = turn.request_id
        self._request_ids = [turn.request_id]
        exchanges: list[ChatExchange] = []
        continuation = False
        for step in range(MAX_STEPS):
            model = ChatModelInput(turn, self._request_id, step, list(exchanges), continuation, list(self._request_ids))
            try:
                result = await self._cancellable(
                    workflow.execute_activity(
                        Bridge.CHAT_MODEL,
                        model,
                        result_type=ChatModelResult,
                        start_to_close_timeout=MODEL_TIMEOUT,
                        heartbeat_timeout=MODEL_HEARTBEAT,
                        retry_policy=MODEL_RETRY,
                        summary=f"model request {step + 1}",
                    )
                )
            except ActivityError as err:
                return await self._finish(turn, continuation, "error", error_info(err)["message"])
            if result is None:  # cancelled
                return await self._finish(turn, continuation, "aborted")
            if result.request_id is not None:  # recovered: one stream holds the whole answer now
                self._request_id, self._request_ids, continuation = result.request_id, [result.request_id], False
            exchange = ChatExchange(result.response)
            exchanges.append(exchange)
            if not result.tool_calls:
                return await self._finish(turn, continuation, "completed")
            if any(call.kind != "server" for call in result.tool_calls):
                awaiting = {c.tool_call_id: c.kind for c in result.tool_calls if c.kind != "server"}
                await self._finish(turn, continuation, "completed", awaiting=awaiting)
                await workflow.wait_condition(lambda awaited=tuple(awaiting): self._decided(awaited))
                if self._cancelled is not None:
                    return await self._finish(turn, continuation, "aborted")
                continuation = True
                self._request_id = self._continuation_id(result.tool_calls) or self._request_id
                if self._request_id not in self._request_ids:
                    self._request_ids.append(self._request_id)
            for call in result.tool_calls:
                if self._cancelled is not None:
                    return await self._finish(turn, continuation, "aborted")
                exchange.outcomes.append(await self._tool(turn, call, continuation))
        return await self._finish(turn, continuation, "error", f"the model made {MAX_STEPS} requests in one turn")

    def _decided(self, awaited: tuple[str, ...]) -> bool:
        return self._cancelled is not None or all(call_id in self._decisions for call_id in awaited)

    def _continuation_id(self, calls: list[ChatToolCall]) -> str | None:
        ids = [d.request_id for c in calls if (d := self._decisions.get(c.tool_call_id)) and d.request_id]
        return ids[-1] if ids else None

    async def _tool(self, turn: ChatTurnInput, call: ChatToolCall, continuation: bool) -> ChatToolOutcome:
        decision = self._decisions.get(call.tool_call_id)
        tool = ChatToolInput(turn, self._request_id or turn.request_id, call, continuation)
        if call.kind == "client":
            assert decision is not None
            tool.outcome = ChatToolOutcome(call.tool_call_id, call.tool_name, decision.output, decision.error)
        elif call.kind == "approval" and not (decision and decision.approved):
            tool.denied = True
        retries = StepRetries.parse(call.retries)
        executing = workflow.execute_activity(
            Bridge.CHAT_TOOL,
            tool,
            result_type=ChatToolOutcome,
            start_to_close_timeout=timedelta(seconds=call.timeout) if call.kind != "client" else BRIDGE_TIMEOUT,
            retry_policy=retries.temporal_policy() if call.kind != "client" and not tool.denied else BRIDGE_RETRY,
            summary=f"tool {call.tool_name}",
        )
        try:
            return await executing
        except ActivityError as err:  # the tool failed for good: the model is told, and goes on
            return ChatToolOutcome(call.tool_call_id, call.tool_name, error=error_info(err)["message"])

    async def _cancellable(self, activity: Any) -> Any:
        """The activity's result, or None once the turn is cancelled (the activity is
        cancelled too: the model's HTTP request is aborted)."""
        task = asyncio.ensure_future(activity)
        cancel = asyncio.ensure_future(workflow.wait_condition(lambda: self._cancelled is not None))
        await workflow.wait([task, cancel], return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            cancel.cancel()
            return task.result()
        task.cancel()
        try:
            await task
        except (ActivityError, CancelledError, asyncio.CancelledError):
            pass
        return None

    async def _finish(
        self,
        turn: ChatTurnInput,
        continuation: bool,
        outcome: Any,
        error: str | None = None,
        *,
        awaiting: dict[str, str] | None = None,
    ) -> str:
        end = ChatFinishInput(
            turn,
            self._request_id or turn.request_id,
            outcome,
            error,
            continuation,
            list(self._request_ids),
            awaiting or {},
        )
        # A turn begun before the patch has the end in its history as an activity.
        execute = workflow.execute_local_activity if workflow.patched(_LOCAL_FINISH) else workflow.execute_activity
        await execute(
            Bridge.CHAT_FINISH,
            end,
            start_to_close_timeout=BRIDGE_TIMEOUT,
            retry_policy=BRIDGE_RETRY,
            summary="wait for tools" if awaiting else outcome,
        )
        return outcome
