"""A chat stream's frames in Redis (`agents.chat.store`, `agents.chat.sink`): every frame
kept and published once, in order, when many streams write at once (one script call per
cluster slot, the calls in one pipeline across cluster nodes), and after the server
forgot its scripts."""

from __future__ import annotations

import asyncio
import json
import uuid

from redis.asyncio import Redis

from agents import Settings
from agents.chat.sink import frame_sink
from agents.chat.store import ChatStore
from agents.core.keys import AgentKeys


def _store(redis: Redis, settings: Settings, name: str) -> ChatStore:
    return ChatStore(redis, AgentKeys(settings.redis_key_prefix, "chat-agent", name))


async def _stream(store: ChatStore, request_id: str, words: int) -> None:
    writer = await store.writer(request_id).open()
    for i in range(words):
        await writer.send({"type": "text-delta", "id": "t", "delta": f"w{i}"})
        if i % 7 == 0:
            await asyncio.sleep(0)  # let the other streams in between
    await writer.done("completed", ["m"])


async def test_many_streams_at_once_keep_every_frame_in_order(redis: Redis, settings: Settings) -> None:
    stores = [_store(redis, settings, f"s-{uuid.uuid4().hex[:8]}") for _ in range(40)]
    await asyncio.gather(*(_stream(store, "r1", 50) for store in stores))
    for store in stores:
        frames = await store.frames("r1")
        assert [f["seq"] for f in frames] == list(range(51))
        assert [json.loads(f["body"])["delta"] for f in frames[:-1]] == [f"w{i}" for i in range(50)]
        assert frames[-1]["done"] is True


async def test_frames_are_published_as_written_and_a_lost_script_is_loaded_again(
    redis: Redis, settings: Settings
) -> None:
    stores = [_store(redis, settings, f"p-{uuid.uuid4().hex[:8]}") for _ in range(5)]
    pubsub = redis.pubsub()
    await pubsub.ssubscribe(*(store.keys.channel for store in stores))
    await asyncio.gather(*(_stream(store, "r1", 3) for store in stores))
    await redis.script_flush()  # a restarted Redis has no scripts; the sink thought it had
    await asyncio.gather(*(_stream(store, "r2", 3) for store in stores))
    published: dict[str, list[int]] = {}
    async with asyncio.timeout(10):
        while sum(len(v) for v in published.values()) < 2 * 5 * 4:
            message = await pubsub.get_sharded_message(ignore_subscribe_messages=True, timeout=1)
            if message:
                envelope = json.loads(message["data"])
                request_id, first = envelope["c"]
                published.setdefault(f"{message['channel']}/{request_id}", []).extend(
                    range(first, first + len(envelope["batch"]))
                )
    await pubsub.aclose()
    assert sorted(published.values()) == [[0, 1, 2, 3]] * 10
    assert frame_sink(redis) is frame_sink(redis)  # one per client


async def test_after_a_cancelled_turn_ends_its_stream_a_late_step_writes_nothing(
    redis: Redis, settings: Settings
) -> None:
    """A cancelled model step hears of the cancel at its next heartbeat: what it sends
    until then must not land after the turn's `abort` and `finish` (it did once, under
    load: [..., 'finish', 'text-delta']). The end fences the stream, then writes past it."""
    store = _store(redis, settings, f"f-{uuid.uuid4().hex[:8]}")
    pubsub = redis.pubsub()
    await pubsub.ssubscribe(store.keys.channel)
    step = await store.writer("r1").open()
    await step.send({"type": "text-delta", "id": "t", "delta": "before"})
    await step.flush()
    await store.fence("r1")
    ender = store.writer("r1", ender=True).open_at(len(await store.frames("r1")))
    await step.send({"type": "text-delta", "id": "t", "delta": "late"})  # the step, still going
    await step.flush()
    for chunk in ({"type": "abort"}, {"type": "finish"}):
        await ender.send(chunk)
    await ender.done("aborted", ["m"])
    frames = await store.frames("r1")
    assert [json.loads(f["body"])["type"] for f in frames if f.get("body")] == ["text-delta", "abort", "finish"]
    assert [f["seq"] for f in frames] == [0, 1, 2, 3]
    published = []
    async with asyncio.timeout(5):
        while len(published) < 4:
            message = await pubsub.get_sharded_message(ignore_subscribe_messages=True, timeout=1)
            if message:
                published.extend(json.loads(message["data"])["batch"])
    assert not any('"late"' in frame for frame in published)
    await pubsub.aclose()


async def test_streams_written_in_one_call_are_fenced_each_on_its_own(redis: Redis, settings: Settings) -> None:
    """Writes asked for while one is in flight go out together (one script call per
    cluster slot): a fenced stream among them writes nothing, the others all they sent."""
    alone, fenced, free = (_store(redis, settings, f"b-{uuid.uuid4().hex[:8]}") for _ in range(3))
    await fenced.fence("r1")
    writers = [await store.writer("r1").open() for store in (alone, fenced, free)]
    for writer in writers:  # all three asked for before the sink runs: one batch
        await writer.send({"type": "text-delta", "id": "t", "delta": "x"})
    await asyncio.gather(*(writer.flush() for writer in writers))
    assert [len(await store.frames("r1")) for store in (alone, fenced, free)] == [1, 0, 1]
