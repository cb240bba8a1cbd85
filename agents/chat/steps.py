"""The steps of a chat turn, as the worker's activities run them (`activities._chat`):
a model request that streams, a tool call, and the end of the turn's stream.

Run-level chunks are sent here too: `start` before the turn's first model request,
`start-step` / `finish-step` around each, `finish` and the `done` frame at the end.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from pydantic_core import from_json

from agents.chat import model, protocol
from agents.chat.agent import ChatAgent, ChatReply, ChatRequest, ChatTurnError
from agents.chat.assemble import apply_chunks
from agents.chat.store import StreamWriter
from workflows.contracts import (
    ChatFinishInput,
    ChatModelInput,
    ChatModelResult,
    ChatToolInput,
    ChatToolOutcome,
    ChatTurnInput,
)

log = structlog.get_logger("agents.chat")


async def _reply(agent: ChatAgent, turn: ChatTurnInput, request_id: str) -> Any:
    await agent.refresh_state()
    await agent.refresh_messages()
    try:
        reply = await agent.on_chat_message(ChatRequest(request_id, turn.message_id, dict(turn.body)))
    except Exception as err:  # the app's code: a bug there ends the turn instead of retrying it for minutes
        log.exception("on_chat_message failed")
        raise ChatTurnError(f"on_chat_message failed: {type(err).__name__}: {err}") from err
    if not isinstance(reply, ChatReply):
        raise ChatTurnError(f"on_chat_message must return a ChatReply, not {type(reply).__name__}")
    return reply


async def model_step(agent: ChatAgent, step: ChatModelInput, *, attempt: int) -> ChatModelResult:
    """One model request, streamed. Tried again (its worker died mid-answer, or the
    provider failed), it takes back what the failed try sent: see `_recover`."""
    turn = step.turn
    writer = await agent.chat.writer(step.request_id, continuation=step.continuation).open()
    recovered: str | None = None
    if attempt > 1 and (base := await agent.chat.step_mark(step.request_id, step.step)) is not None:
        writer, recovered = await _recover(agent, step, base, attempt)
    else:
        await agent.chat.mark_step(step.request_id, step.step, writer.seq)
    reply = await _reply(agent, turn, writer.request_id)
    specs = model.tool_specs(reply, turn.client_tools)
    transcript = [m for m in agent.messages if m["id"] != turn.message_id]
    messages = model.history(transcript, step.exchanges, reply.instructions)
    try:
        if step.step == 0 and not step.continuation and writer.seq == 0:
            await writer.send({"type": "start", "messageId": turn.message_id})
        await writer.send({"type": "start-step"})
        response, calls = await model.stream_response(reply, messages, specs, step=step.step, send=writer.send)
        await writer.send({"type": "finish-step"})
    finally:  # cancelled too: what was sent is written before the turn's next step numbers on
        await asyncio.shield(writer.flush())
    return ChatModelResult(response, calls, recovered)


async def _recover(agent: ChatAgent, step: ChatModelInput, base: int, attempt: int) -> tuple[StreamWriter, str]:
    """A step tried again after its first try sent part of an answer. What the clients
    got of it cannot be taken back chunk by chunk, so the stream is started over: its
    clients get `done` with outcome `recovering` (and `cf_agent_chat_recovering`), and the
    turn goes on under a new request id whose stream first repeats the turn's chunks
    from before this step (a client that resumes it gets the whole answer, once); the
    failed try's chunks are dropped from the stored stream. A writer on the new stream."""
    store = agent.chat
    await store.truncate(step.request_id, base)
    before = [c for r in step.request_ids[:-1] for c in await store.chunks(r)] + await store.chunks(step.request_id)
    request_id = f"{step.request_ids[0]}-s{step.step}r{attempt}"
    await store.truncate(request_id, 0)  # what an earlier try of this number wrote
    turn = await store.turn()
    live = turn["request_id"] if turn else step.request_id
    if turn is not None:
        await store.update_turn({**turn, "request_id": request_id, "status": "streaming"})
    await agent.broadcast(protocol.done_frame(live, "recovering", [step.turn.message_id], base))
    await agent.broadcast({"type": protocol.CHAT_RECOVERING, "recovering": True, "id": request_id})
    writer = await store.writer(request_id).open()
    await writer.send({"type": "start", "messageId": step.turn.message_id})
    for chunk in before:
        if chunk["type"] not in ("start", "finish"):  # one start, and no finish mid-answer
            await writer.send(chunk)
    log.warning(
        "chat step tried again: its stream started over", step=step.step, attempt=attempt, request_id=request_id
    )
    return writer, request_id


async def tool_step(agent: ChatAgent, step: ChatToolInput) -> ChatToolOutcome:
    call = step.call
    writer = await agent.chat.writer(step.request_id, continuation=step.continuation).open()
    if step.denied:
        await writer.send({"type": "tool-output-denied", "toolCallId": call.tool_call_id})
        await writer.flush()
        return ChatToolOutcome(call.tool_call_id, call.tool_name, denied=True)
    if step.outcome is not None:  # a client tool: the browser ran it; the stored message has it
        return step.outcome
    reply = await _reply(agent, step.turn, step.request_id)
    spec = model.tool_specs(reply, step.turn.client_tools).get(call.tool_name)
    try:
        output = await model.call_tool(spec, call)
    except (LookupError, ValueError) as err:  # the model's mistake: it is told and goes on
        await writer.send({"type": "tool-output-error", "toolCallId": call.tool_call_id, "errorText": str(err)})
        await writer.flush()
        return ChatToolOutcome(call.tool_call_id, call.tool_name, error=str(err))
    await writer.send({"type": "tool-output-available", "toolCallId": call.tool_call_id, "output": output})
    await writer.flush()
    return ChatToolOutcome(call.tool_call_id, call.tool_name, output=output)


async def finish(agent: ChatAgent, end: ChatFinishInput) -> None:
    """End the stream: its last chunks (`abort` or `error`, then `finish`), the assistant
    message stored as the clients assembled it, the turn ended (or left waiting for
    tools), and only then the `done` frame, so a client that sends its next message on
    `done` finds the turn over. The message is stored and the turn ended only while the
    turn is still the one recorded: a cleared chat stays empty, and an end tried again
    after its first try ended the turn leaves the next turn alone. Safe to run again (a
    retried activity)."""
    turn = end.turn
    if end.outcome == "aborted":  # a cancelled model step may still send: nothing after this end
        await agent.chat.fence(end.request_id)
    frames = await agent.chat.frames(end.request_id)
    writer = agent.chat.writer(end.request_id, continuation=end.continuation, ender=True).open_at(len(frames))
    ending: list[dict[str, Any]] = []
    done_sent = any(f.get("done") for f in frames)
    if not done_sent and not (frames and '"type":"finish"' in frames[-1].get("body", "")):
        if end.outcome == "aborted":
            ending.append({"type": "abort"})
        elif end.outcome == "error":
            ending.append({"type": "error", "errorText": end.error or "the turn failed"})
        ending.append({"type": "finish"})
        for chunk in ending:
            await writer.send(chunk)
        await writer.flush()
    earlier = [c for r in end.request_ids if r != end.request_id for c in await agent.chat.chunks(r)]
    chunks = [*earlier, *(from_json(f["body"]) for f in frames if f.get("body")), *ending]
    message = apply_chunks({"id": turn.message_id, "role": "assistant", "parts": []}, chunks)
    async with agent.turn():  # the transcript's read-modify-write, one writer at a time
        current = await agent.chat.turn()
        stored = None
        if current is not None and current["message_id"] == turn.message_id:
            messages = await agent.refresh_messages()
            index = next((i for i, m in enumerate(messages) if m["id"] == turn.message_id), None)
            if index is None:
                messages.append(message)
            else:
                messages[index] = message
            stored = await agent.chat.save_messages(messages, cap=agent.max_persisted_messages)
            if end.awaiting:
                await agent.chat.update_turn({**current, "status": "waiting", "awaiting": end.awaiting})
            else:
                await agent.chat.end_turn(end.request_ids)
        else:  # the chat was cleared (its transcript stays empty), or an earlier try of this end ended the turn
            await agent.chat.keep_streams(end.request_ids)
    if not done_sent:
        await writer.done(end.outcome, [turn.message_id])
    if stored is not None:
        await agent.broadcast(protocol.messages_frame(stored))
    if not end.awaiting:
        await agent.start_queued()  # a request that came during the turn: its turn now
    log.info("chat turn stream ended", outcome=end.outcome, waiting=bool(end.awaiting), request_id=end.request_id)
