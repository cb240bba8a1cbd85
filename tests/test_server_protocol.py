"""The lighter stand-ins `LeanWebSocketProtocol` gives uvicorn's WebSocket protocol for
its receive queue and writable event: the same behaviour, and every use uvicorn makes of
them provided (a newer uvicorn that uses more fails here, not in production)."""

from __future__ import annotations

import asyncio
import inspect
import re

import pytest
from uvicorn.protocols.websockets import websockets_sansio_impl

from agents.ws.server_protocol import LeanWebSocketProtocol, _Flag, _Inbox


def test_every_use_uvicorn_makes_of_the_queue_and_the_event_is_provided() -> None:
    source = inspect.getsource(websockets_sansio_impl.WebSocketsSansIOProtocol)
    for attribute, stand_in in (("queue", _Inbox), ("writable", _Flag)):
        used = set(re.findall(rf"self\.{attribute}\.(\w+)", source))
        assert used, f"uvicorn no longer uses self.{attribute}: LeanWebSocketProtocol saves nothing"
        assert used <= {name for name in dir(stand_in) if not name.startswith("_")}, used
    assert issubclass(LeanWebSocketProtocol, websockets_sansio_impl.WebSocketsSansIOProtocol)


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
