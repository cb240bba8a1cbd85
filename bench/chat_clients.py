"""Chat clients in a process of their own (`python -m bench.chat_clients`), so that what
a benchmark measures of the server side (the worker's CPU above all) is not mixed with
what the clients cost, as it would be in one event loop. Prints one JSON line:
`{"tokens": <received>, "seconds": <first request to last done>}`.

    python -m bench.chat_clients ours <api url> <chats> <tokens> <delay>
    python -m bench.chat_clients plain <ws url> <chats> <tokens> <delay>
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid

import websockets


async def _ours(api_url: str, tokens: int, delay: float) -> int:
    url = f"{api_url.replace('http', 'ws')}/agents/bench-chat/c-{uuid.uuid4().hex[:10]}"
    async with websockets.connect(url, max_size=None) as ws:
        request_id = uuid.uuid4().hex[:8]
        message = {"id": uuid.uuid4().hex, "role": "user", "parts": [{"type": "text", "text": "go"}]}
        body = json.dumps({"messages": [message], "trigger": "submit-message", "tokens": tokens, "delay": delay})
        await ws.send(json.dumps({"type": "cf_agent_use_chat_request", "id": request_id, "init": {"body": body}}))
        count = 0
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if frame.get("type") != "cf_agent_use_chat_response" or frame.get("id") != request_id:
                continue
            if frame.get("error"):
                raise RuntimeError(frame["body"])
            if frame.get("body"):
                chunk = json.loads(frame["body"])
                if chunk["type"] == "text-delta":
                    count += len(chunk["delta"].split())
            if frame.get("done"):
                return count


async def _plain(ws_url: str, tokens: int, delay: float) -> int:
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"tokens": tokens, "delay": delay}))
        count = 0
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if frame.get("done"):
                return count
            count += len(frame["delta"].split())


async def main(mode: str, url: str, chats: int, tokens: int, delay: float) -> None:
    one = _ours if mode == "ours" else _plain
    began = time.perf_counter()
    counts = await asyncio.gather(*(one(url, tokens, delay) for _ in range(chats)))
    print(json.dumps({"tokens": sum(counts), "seconds": time.perf_counter() - began}))


if __name__ == "__main__":
    mode, url, chats, tokens, delay = sys.argv[1:6]
    asyncio.run(main(mode, url, int(chats), int(tokens), float(delay)))
