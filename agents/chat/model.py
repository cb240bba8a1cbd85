"""The one seam to the model library (pydantic-ai, the `ai` extra): a version bump of it
touches this module only.

Used through its public doors: `pydantic_ai.direct.model_request_stream` for one streamed
model request (any provider it supports, or an offline `FunctionModel`), `Tool` for a
function's JSON schema, `VercelAIAdapter.load_messages` for the stored transcript (AI SDK
UI messages) as the model's history, and `ModelMessagesTypeAdapter` for the JSON a
workflow carries between steps. Its agent loop is not used: the turn's loop is a Temporal
workflow, each model request and tool call a step of its own.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

try:
    import pydantic
    from pydantic_ai import Tool
    from pydantic_ai.direct import model_request_stream
    from pydantic_ai.exceptions import (
        ContentFilterError,
        ModelQuotaExceededError,
        ModelRequestRejectedError,
        UserError,
    )
    from pydantic_ai.messages import (
        ModelMessage,
        ModelMessagesTypeAdapter,
        ModelRequest,
        ModelResponse,
        PartDeltaEvent,
        PartEndEvent,
        PartStartEvent,
        RetryPromptPart,
        SystemPromptPart,
        TextPart,
        TextPartDelta,
        ThinkingPart,
        ThinkingPartDelta,
        ToolCallPart,
        ToolCallPartDelta,
        ToolReturnPart,
    )
    from pydantic_ai.models import ModelRequestParameters
    from pydantic_ai.tools import ToolDefinition
    from pydantic_ai.ui.vercel_ai import VercelAIAdapter
    from pydantic_ai.ui.vercel_ai.request_types import UIMessage
except ImportError as err:  # pragma: no cover - the message is the point
    raise ImportError(
        "chat agents need the model library: install the 'ai' extra (pip install 'temporal-agents[ai]')"
    ) from err

from agents.chat.agent import ChatReply, ChatTool, ChatTurnError
from workflows.contracts import ChatExchange, ChatToolCall

DENIED = "The user denied this tool call; do not try it again unless asked."

_PERMANENT = (ModelRequestRejectedError, ModelQuotaExceededError, ContentFilterError, UserError)
"""Model errors that trying again will not mend (rate limits, overloads, 5xx and lost
connections are not among them: those are retried)."""


@dataclass
class ToolSpec:
    """A tool as the turn knows it: what the model is told, and what runs it."""

    definition: ToolDefinition
    kind: str  # server | approval | client
    function: Callable[..., Any] | None = None
    retries: dict[str, Any] | None = None
    timeout: float = 60.0

    def call_of(self, part: ToolCallPart) -> ChatToolCall:
        args = part.args_as_dict()
        return ChatToolCall(part.tool_call_id, part.tool_name, args, self.kind, self.retries, self.timeout)  # type: ignore[arg-type]


def tool_specs(reply: ChatReply, client_tools: list[dict[str, Any]]) -> dict[str, ToolSpec]:
    """The reply's tools (functions, `ChatTool`s, pydantic-ai `Tool`s) and the browser's, by name."""
    specs: dict[str, ToolSpec] = {}
    for item in reply.tools:
        if isinstance(item, Tool):
            tool, function, approval, retries, timeout = item, item.function, item.requires_approval, None, 60.0
        else:
            options = item if isinstance(item, ChatTool) else ChatTool(item)
            tool = Tool(options.function, name=options.name, requires_approval=options.needs_approval)
            function, approval = options.function, options.needs_approval
            retries, timeout = options.retries, options.timeout
        definition = tool.tool_def
        specs[definition.name] = ToolSpec(definition, "approval" if approval else "server", function, retries, timeout)
    for client in client_tools:
        if isinstance(client, dict) and isinstance(client.get("name"), str) and client["name"] not in specs:
            definition = ToolDefinition(
                name=client["name"],
                description=client.get("description") or None,
                parameters_json_schema=client.get("parameters") or {"type": "object", "properties": {}},
            )
            specs[client["name"]] = ToolSpec(definition, "client")
    return specs


def history(transcript: list[dict[str, Any]], exchanges: list[ChatExchange], instructions: str | None) -> list[Any]:
    """The model's messages: the stored transcript, then this turn's responses and tool outcomes."""
    messages: list[ModelMessage] = VercelAIAdapter.load_messages([UIMessage.model_validate(m) for m in transcript])
    for exchange in exchanges:
        messages += ModelMessagesTypeAdapter.validate_python([exchange.response])
        if exchange.outcomes:
            parts: list[Any] = []
            for outcome in exchange.outcomes:
                if outcome.error is not None:
                    parts.append(
                        RetryPromptPart(outcome.error, tool_name=outcome.tool_name, tool_call_id=outcome.tool_call_id)
                    )
                else:
                    content = DENIED if outcome.denied else outcome.output
                    parts.append(ToolReturnPart(outcome.tool_name, content, tool_call_id=outcome.tool_call_id))
            messages.append(ModelRequest(parts=parts))
    if instructions:
        first = next((m for m in messages if isinstance(m, ModelRequest)), None)
        if first is None:
            messages.insert(0, ModelRequest(parts=[SystemPromptPart(instructions)]))
        else:
            first.parts = [SystemPromptPart(instructions), *first.parts]
    return messages


async def stream_response(
    reply: ChatReply,
    messages: list[Any],
    specs: dict[str, ToolSpec],
    *,
    step: int,
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> tuple[Any, list[ChatToolCall]]:
    """One streamed model request: each event goes to `send` as UI message-stream chunks
    as the model produces it. The response (JSON) and the tool calls it made."""
    parameters = ModelRequestParameters(function_tools=[s.definition for s in specs.values()], allow_text_output=True)
    chunks = _Chunks(step, specs)
    try:
        async with model_request_stream(
            reply.model, messages, model_settings=reply.model_settings, model_request_parameters=parameters
        ) as stream:
            async for event in stream:
                for chunk in chunks.of(event):
                    await send(chunk)
            response: ModelResponse = stream.get()
    except _PERMANENT as err:  # sent again unchanged, it fails again: the turn ends
        raise ChatTurnError(f"the model refused the request: {err}") from err
    for chunk in chunks.close(response):
        await send(chunk)
    calls = [specs[p.tool_name].call_of(p) if p.tool_name in specs else _unknown(p) for p in response.tool_calls]
    return ModelMessagesTypeAdapter.dump_python([response], mode="json")[0], calls


def _unknown(part: ToolCallPart) -> ChatToolCall:
    return ChatToolCall(part.tool_call_id, part.tool_name, part.args_as_dict(), "server")


async def call_tool(spec: ToolSpec | None, call: ChatToolCall) -> Any:
    """Run a server tool with the model's arguments, checked against its signature.
    ValueError for arguments that do not fit (the model is told, and may try again)."""
    if spec is None or spec.function is None:
        raise LookupError(f"the model called {call.tool_name!r}, which is not one of this turn's tools")
    try:
        result = pydantic.validate_call(spec.function)(**(call.args or {}))
    except pydantic.ValidationError as err:
        raise ValueError(f"invalid arguments for {call.tool_name}: {err}") from None
    if inspect.isawaitable(result):
        result = await result
    return pydantic.TypeAdapter(Any).dump_python(result, mode="json")


class _Chunks:
    """The model library's stream events as AI SDK UI message-stream chunks."""

    def __init__(self, step: int, specs: dict[str, ToolSpec]) -> None:
        self._step = step
        self._specs = specs
        self._open: dict[int, tuple[str, str]] = {}  # part index -> (kind, id)

    def _id(self, index: int) -> str:
        return f"s{self._step}p{index}"

    def of(self, event: Any) -> list[dict[str, Any]]:
        if isinstance(event, PartStartEvent):
            return self._start(event.index, event.part)
        if isinstance(event, PartDeltaEvent):
            return self._delta(event.index, event.delta)
        if isinstance(event, PartEndEvent):
            return self._end(event.index, event.part)
        return []

    def _start(self, index: int, part: Any) -> list[dict[str, Any]]:
        out = self._end(index, None) if index in self._open else []
        if isinstance(part, TextPart | ThinkingPart):
            kind = "text" if isinstance(part, TextPart) else "reasoning"
            self._open[index] = (kind, part.content)
            out.append({"type": f"{kind}-start", "id": self._id(index)})
            if part.content:
                out.append({"type": f"{kind}-delta", "id": self._id(index), "delta": part.content})
        elif isinstance(part, ToolCallPart):
            self._open[index] = ("tool", part.tool_call_id)
            out.append({"type": "tool-input-start", "toolCallId": part.tool_call_id, "toolName": part.tool_name})
            if isinstance(part.args, str) and part.args:
                out.append({"type": "tool-input-delta", "toolCallId": part.tool_call_id, "inputTextDelta": part.args})
        return out

    def _delta(self, index: int, delta: Any) -> list[dict[str, Any]]:
        kind = self._open.get(index, ("", ""))[0]
        if isinstance(delta, TextPartDelta | ThinkingPartDelta) and kind in ("text", "reasoning"):
            text = delta.content_delta if isinstance(delta, TextPartDelta) else delta.content_delta
            return [{"type": f"{kind}-delta", "id": self._id(index), "delta": text}] if text else []
        if isinstance(delta, ToolCallPartDelta) and kind == "tool" and isinstance(delta.args_delta, str):
            call_id = self._open[index][1]
            return [{"type": "tool-input-delta", "toolCallId": call_id, "inputTextDelta": delta.args_delta}]
        return []

    def _end(self, index: int, part: Any) -> list[dict[str, Any]]:
        kind, _ = self._open.pop(index, ("", ""))
        if kind in ("text", "reasoning"):
            return [{"type": f"{kind}-end", "id": self._id(index)}]
        if kind == "tool" and isinstance(part, ToolCallPart):
            return self._tool_ready(part)
        return []

    def _tool_ready(self, part: ToolCallPart) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [
            {
                "type": "tool-input-available",
                "toolCallId": part.tool_call_id,
                "toolName": part.tool_name,
                "input": part.args_as_dict(),
            }
        ]
        spec = self._specs.get(part.tool_name)
        if spec is not None and spec.kind == "approval":
            out.append(
                {
                    "type": "tool-approval-request",
                    "approvalId": f"approval-{part.tool_call_id}",
                    "toolCallId": part.tool_call_id,
                }
            )
        return out

    def close(self, response: ModelResponse) -> list[dict[str, Any]]:
        """End what the stream left open (a model whose stream has no end events)."""
        out: list[dict[str, Any]] = []
        for index in sorted(self._open):
            part = response.parts[index] if index < len(response.parts) else None
            out += self._end(index, part)
        return out
