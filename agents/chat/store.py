"""A chat agent's Redis keys: its transcript, its turn in progress, and the frames of each
turn's stream (kept for clients that reconnect and resume).

The transcript is one JSON value, read and written in the agent's turn (one writer at a
time, whichever process: a plain SET is enough).
The frames of a stream are a list appended to and published in one script call per
batch of chunks (`lua/chat_frames.lua`; the list and the agent's channel share its hash
slot), through the process's `FrameSink`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic_core import from_json, to_json
from redis.asyncio import Redis

from agents.chat import protocol
from agents.chat.sink import frame_sink
from agents.core.keys import AgentKeys
from agents.core.messages import batch_envelope

STREAM_TTL_SECONDS = 3600
"""How long a finished turn's frames are kept (resume, and the replay a late ack gets)."""


def _dumps(value: Any) -> str:
    """Compact JSON text (pydantic's encoder: a sixth of `json.dumps`'s time for a frame,
    which a busy worker encodes twice per token)."""
    return to_json(value).decode()


class ChatStore:
    def __init__(self, redis: Redis, keys: AgentKeys) -> None:
        self.redis = redis
        self.keys = keys
        self.sink = frame_sink(redis)

    async def messages(self) -> list[dict[str, Any]]:
        raw = await self.redis.get(self.keys.chat_messages)
        return json.loads(raw) if raw else []

    async def save_messages(self, messages: list[dict[str, Any]], *, cap: int | None = None) -> list[dict[str, Any]]:
        """Store `messages`, the oldest dropped past `cap`; what was stored."""
        if cap is not None and len(messages) > cap:
            messages = messages[len(messages) - cap :]
        await self.redis.set(self.keys.chat_messages, _dumps(messages))
        return messages

    async def clear(self) -> None:
        """Forget the transcript, the requests waiting for their turn and the turn in
        progress (whose end then stores nothing: it is told to stop first)."""
        await self.redis.delete(self.keys.chat_messages, self.keys.chat_queue, self.keys.chat_turn)

    async def enqueue(self, request: dict[str, Any]) -> int:
        """Queue a request behind the turn in progress; how many are queued now."""
        return int(await self.redis.rpush(self.keys.chat_queue, _dumps(request)))

    async def queued_count(self) -> int:
        return int(await self.redis.llen(self.keys.chat_queue))

    async def next_queued(self) -> dict[str, Any] | None:
        raw = await self.redis.lindex(self.keys.chat_queue, 0)
        return json.loads(raw) if raw else None

    async def drop_next_queued(self) -> None:
        await self.redis.lpop(self.keys.chat_queue)

    async def unqueue(self, request_id: str) -> bool:
        """Take the queued request `request_id` out; whether it was there."""
        for raw in await self.redis.lrange(self.keys.chat_queue, 0, -1):
            if json.loads(raw)["request_id"] == request_id:
                return bool(await self.redis.lrem(self.keys.chat_queue, 1, raw))
        return False

    async def turn(self) -> dict[str, Any] | None:
        raw = await self.redis.get(self.keys.chat_turn)
        return json.loads(raw) if raw else None

    async def start_turn(self, turn: dict[str, Any]) -> bool:
        """Record the turn in progress; False when one already is."""
        return bool(await self.redis.set(self.keys.chat_turn, _dumps(turn), nx=True))

    async def update_turn(self, turn: dict[str, Any]) -> None:
        await self.redis.set(self.keys.chat_turn, _dumps(turn), xx=True)

    async def end_turn(self, request_ids: list[str]) -> None:
        """The turn is over: no longer in progress; the frames of its requests kept a while
        for resuming."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.delete(self.keys.chat_turn, self.keys.chat_marks)
            self._expire_streams(pipe, request_ids)
            await pipe.execute()

    async def keep_streams(self, request_ids: list[str]) -> None:
        """The frames of a turn that is no longer recorded kept a while, then gone."""
        async with self.redis.pipeline(transaction=False) as pipe:
            self._expire_streams(pipe, request_ids)
            await pipe.execute()

    def _expire_streams(self, pipe: Any, request_ids: list[str]) -> None:
        for request_id in request_ids:
            pipe.expire(self.keys.chat_stream(request_id), STREAM_TTL_SECONDS)

    async def truncate(self, request_id: str, length: int) -> None:
        """Keep the first `length` frames of `request_id`'s stream (a retried step's own;
        0: none)."""
        if length == 0:  # LTRIM 0 -1 would keep them all
            await self.redis.delete(self.keys.chat_stream(request_id))
        else:
            await self.redis.ltrim(self.keys.chat_stream(request_id), 0, length - 1)

    async def mark_step(self, request_id: str, step: int, seq: int) -> None:
        """Record where a model step began in its stream (`seq`), for a retry to cut back to."""
        await self.redis.hset(self.keys.chat_marks, f"{request_id}:{step}", seq)

    async def step_mark(self, request_id: str, step: int) -> int | None:
        """Where the model step began in its stream, if its first try recorded it."""
        raw = await self.redis.hget(self.keys.chat_marks, f"{request_id}:{step}")
        return None if raw is None else int(raw)

    async def frames(self, request_id: str) -> list[dict[str, Any]]:
        """The frames sent so far under `request_id`, in order (a turn's end reads its
        whole stream: pydantic's parser takes a quarter of `json.loads`'s time a frame)."""
        return [from_json(raw) for raw in await self.redis.lrange(self.keys.chat_stream(request_id), 0, -1)]

    async def chunks(self, request_id: str) -> list[dict[str, Any]]:
        """The UI message-stream chunks sent so far under `request_id`."""
        return [from_json(f["body"]) for f in await self.frames(request_id) if f.get("body")]

    def writer(self, request_id: str, *, continuation: bool = False, ender: bool = False) -> StreamWriter:
        """`ender`: the writer of the turn's end, which writes past the stream's fence."""
        return StreamWriter(self, request_id, continuation=continuation, ender=ender)

    async def fence(self, request_id: str) -> None:
        """From now on only the stream's ender writes to it (a cancelled turn: its model
        step's activity hears of the cancel at its next heartbeat and may still send)."""
        await self.redis.set(self.keys.chat_stream_fence(request_id), 1, ex=STREAM_TTL_SECONDS)


class StreamWriter:
    """Sends the frames of one request id: each is appended to the stream's list (for a
    client that resumes) and published to every client, numbered (`seq`) in order.

    `send` queues a frame and returns; one script call at a time writes every frame
    queued meanwhile (`flush` waits for them all). A token is written as soon as it comes
    while the model is slower than Redis (the usual case: one frame per call, no added
    wait); when tokens come faster (100 chats streaming through one worker) they go out
    together, one Redis call and one envelope for many. bench/chat.py `concurrent_chats`
    measured a frame per call at 1,878 tokens/s, 0.29x the plain WebSocket baseline; the
    figure with batching is in docs/internals/performance.md."""

    MAX_QUEUED = 2000
    """Frames queued before `send` waits for the writes to catch up."""

    def __init__(self, store: ChatStore, request_id: str, *, continuation: bool, ender: bool = False) -> None:
        self._store = store
        self._key = store.keys.chat_stream(request_id)
        self._keys = [self._key, store.keys.channel, store.keys.chat_stream_fence(request_id)]
        self._ender = "1" if ender else ""
        self.request_id = request_id
        self.continuation = continuation
        self._seq: int | None = None
        self._queued: list[str] = []
        self._writing: asyncio.Task[None] | None = None

    async def open(self) -> StreamWriter:
        """Number on from what the list holds (an earlier activity of the turn wrote those)."""
        return self.open_at(await self._store.redis.llen(self._key))

    def open_at(self, length: int) -> StreamWriter:
        """Number on from `length`: the list's length as the caller just read it."""
        self._seq = length
        return self

    @property
    def seq(self) -> int:
        """The number the next frame gets."""
        assert self._seq is not None, "open() the writer first"
        return self._seq

    async def send(self, chunk: dict[str, Any]) -> None:
        self._queue(protocol.chunk_frame(self.request_id, chunk, self.seq, continuation=self.continuation))
        if len(self._queued) >= self.MAX_QUEUED:
            await self.flush()

    async def done(self, outcome: protocol.Outcome, message_ids: list[str]) -> None:
        """The stream's last frame; returns once every frame is written."""
        self._queue(
            protocol.done_frame(self.request_id, outcome, message_ids, self.seq, continuation=self.continuation)
        )
        await self.flush()

    async def flush(self) -> None:
        """Wait until every frame queued is written (raising what a write raised)."""
        while self._writing is not None:
            await asyncio.shield(self._writing)

    def _queue(self, frame: dict[str, Any]) -> None:
        if self._writing is not None and self._writing.done() and self._writing.exception():
            self._writing.result()  # a write failed: raise it here rather than queue more
        self._queued.append(_dumps(frame))
        self._seq = self.seq + 1
        if self._writing is None:
            self._writing = asyncio.ensure_future(self._write())

    async def _write(self) -> None:
        # On a failure `_writing` stays set to this task: `flush` and the next `send` raise it.
        while self._queued:
            frames, self._queued = self._queued, []
            published = batch_envelope(frames, chat=(self.request_id, self.seq - len(frames)))
            await self._store.sink.write(self._keys, [published, self._ender, *frames])
        self._writing = None
