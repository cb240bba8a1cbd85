"""The lighter stand-ins `LeanWebSocketProtocol` gives uvicorn's WebSocket protocol for
its receive queue and writable event: the same behaviour, and every use uvicorn makes of
them provided (a newer uvicorn that uses more fails here, not in production)."""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any

import pytest
from uvicorn.protocols.websockets import websockets_sansio_impl

from agents import AgentRuntime
from agents.client import AgentClient
from agents.ws.server_protocol import LeanWebSocketProtocol, _Flag, _Inbox


def test_every_use_uvicorn_makes_of_the_queue_and_the_event_is_provided() -> None:
    source = inspect.getsource(websockets_sansio_impl.WebSocketsSansIOProtocol)
    for attribute, stand_in in (("queue", _Inbox), ("writable", _Flag)):
        used = set(re.findall(rf"self\.{attribute}\.(\w+)", source))
        assert used, f"uvicorn no longer uses self.{attribute}: LeanWebSocketProtocol saves nothing"
        assert used <= {name for name in dir(stand_in) if not name.startswith("_")}, used
    assert issubclass(LeanWebSocketProtocol, websockets_sansio_impl.WebSocketsSansIOProtocol)


def test_the_direct_write_reads_only_state_uvicorns_send_keeps() -> None:
    # send_text_now repeats uvicorn's `send` for `websocket.send`, guarded by the same state.
    source = inspect.getsource(websockets_sansio_impl.WebSocketsSansIOProtocol.send)
    for attribute in ("disconnected", "handshake_complete", "close_sent", "initial_response", "conn", "transport"):
        assert f"self.{attribute}" in source, f"uvicorn's send no longer uses self.{attribute}"
    assert "self.conn.send_text(" in source and "self.conn.data_to_send()" in source


async def test_the_inbox_hands_items_over_in_order_and_waits_when_empty() -> None:
    inbox = _Inbox()
    inbox.put_nowait(1)
    assert not inbox.empty() and await inbox.get() == 1 and inbox.empty()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()
    inbox.put_nowait(2)
    inbox.put_nowait(3)
    assert await reader == 2 and await inbox.get() == 3


async def test_a_reader_cancelled_as_it_is_woken_leaves_the_item_to_the_next() -> None:
    inbox = _Inbox()
    first, second = asyncio.create_task(inbox.get()), asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("x")  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    assert await asyncio.wait_for(second, 1) == "x"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_the_flag_holds_every_waiter_while_clear_and_releases_them_on_set() -> None:
    flag = _Flag()
    assert flag.is_set()
    await flag.wait()  # set: returns at once
    flag.clear()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    waiters[0].cancel()
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters[1:])
    flag.set()
    await asyncio.wait_for(asyncio.gather(*waiters[1:]), 1)
    assert waiters[0].cancelled()


@pytest.mark.usefixtures("worker")
async def test_a_broadcast_to_an_idle_client_is_written_at_once_without_a_task(
    api_server: str, runtime: AgentRuntime, agent_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[str] = []
    write_now = LeanWebSocketProtocol.send_text_now

    def counted(self: LeanWebSocketProtocol, text: str) -> bool:
        done = write_now(self, text)
        if done:
            written.append(text)
        return done

    monkeypatch.setattr(LeanWebSocketProtocol, "send_text_now", counted)
    client = AgentClient(api_server, "recorder-agent", agent_name)
    inbox: list[dict[str, Any]] = []
    client.on_message(inbox.append)
    await client.connect()
    try:
        for n in range(3):
            await runtime.agent("recorder-agent", agent_name).broadcast({"type": "tick", "n": n})
        for _ in range(200):
            if len([m for m in inbox if m.get("type") == "tick"]) == 3:
                break
            await asyncio.sleep(0.01)
    finally:
        await client.close()

    assert [m["n"] for m in inbox if m.get("type") == "tick"] == [0, 1, 2]
    assert len([text for text in written if '"tick"' in text]) == 3, "the broadcasts went through writer tasks"
