"""Chat `concurrent_chats`: 100 chats at once, 200 tokens each at a model's pace, against
the same model behind a plain WebSocket endpoint and against Temporal alone for the same
turns (each a workflow whose activity streams the model and drops the tokens), with the
CPU of every process each side loads (`core_seconds`): on two cores, what the machine can
give is the limit, and the table shows where it goes. `per_turn`: the same at 5 tokens a
turn, ours and Temporal alone, as ms of CPU per turn: what a turn costs whatever its
length. The clients run in a process of their own (bench/chat_clients.py)."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
import uuid
from typing import Any

from bench._stack import RAW_QUEUE, ROOT, Stack, ratio
from bench.raw_chat import STREAMED, TokensInput

DELAY = 0.01
"""Seconds between a stream's tokens."""


def _cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds (user + system) of this process, or of process `pid`."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_cpu(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of this process (the worker, or the plain endpoint), the API, the
    Temporal dev server, Valkey, and the client processes that have ended."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "worker_or_endpoint": _cpu_seconds(),
        "api": _cpu_seconds(stack.api_pid),
        "temporal": _cpu_seconds(stack.temporal_pid),
        "valkey": _cpu_seconds(stack.valkey_pid),
        "clients": children.ru_utime + children.ru_stime,
    }


def _spent(before: dict[str, float], stack: Stack) -> dict[str, float]:
    spent = {name: round(cpu - before[name], 2) for name, cpu in _process_cpu(stack).items()}
    return {**spent, "total": round(sum(spent.values()), 2)}


async def _clients(mode: str, url: str, chats: int, tokens: int) -> float:
    """Seconds from the first request to the last answer's end, `chats` clients at once."""
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bench.chat_clients", mode, url, str(chats), str(tokens), str(DELAY)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"chat clients failed: {err.decode()[-2000:]}")
    got = json.loads(out.decode().strip().splitlines()[-1])
    assert got["tokens"] == chats * tokens, f"{got['tokens']} of {chats * tokens} tokens arrived"
    return float(got["seconds"])


async def _measured(stack: Stack, mode: str, url: str, chats: int, tokens: int) -> tuple[float, dict[str, float]]:
    before = _process_cpu(stack)
    seconds = await _clients(mode, url, chats, tokens)
    return seconds, _spent(before, stack)


async def _floor(stack: Stack, chats: int, tokens: int) -> tuple[float, dict[str, float]]:
    """Temporal alone, all started at once; the clock stops at the last model stream's end."""
    STREAMED.clear()
    before = _process_cpu(stack)
    began = time.perf_counter()
    await asyncio.gather(
        *(
            stack.raw_temporal.start_workflow(
                "raw_model_turn", TokensInput(tokens, DELAY), id=f"floor-{uuid.uuid4().hex}", task_queue=RAW_QUEUE
            )
            for _ in range(chats)
        )
    )
    while len(STREAMED) < chats:
        await asyncio.sleep(0.005)
    seconds = max(STREAMED) - began
    await asyncio.sleep(0.3)  # the workflows' completions, which the floor costs too
    return seconds, _spent(before, stack)


async def _per_turn(stack: Stack, chats: int) -> dict[str, Any]:
    """ms of CPU per turn by process, at 5 tokens a turn (after a round of each)."""
    await _measured(stack, "ours", stack.api_url, chats, 5)
    await _floor(stack, chats, 5)
    _, ours = await _measured(stack, "ours", stack.api_url, chats, 5)
    _, floor = await _floor(stack, chats, 5)
    per_turn = 1000 / chats
    return {
        "tokens_each": 5,
        "ours_ms": {name: round(cpu * per_turn, 1) for name, cpu in ours.items()},
        "floor_ms": {name: round(cpu * per_turn, 1) for name, cpu in floor.items()},
    }


async def concurrent_chats(stack: Stack, plain_port: int, *, quick: bool) -> dict[str, Any]:
    chats, tokens = (10, 50) if quick else (100, 200)
    total = chats * tokens
    plain_url = f"ws://127.0.0.1:{plain_port}/chat"
    await _measured(stack, "ours", stack.api_url, chats, tokens)  # warm-up
    await _measured(stack, "plain", plain_url, chats, tokens)
    await _floor(stack, chats, tokens)
    ours_s, ours_cpu = await _measured(stack, "ours", stack.api_url, chats, tokens)
    plain_s, plain_cpu = await _measured(stack, "plain", plain_url, chats, tokens)
    floor_s, floor_cpu = await _floor(stack, chats, tokens)
    per_1000 = 1000 / total * 1000  # ms of CPU per 1,000 tokens, per CPU second
    ours_rate, plain_rate, floor_rate = total / ours_s, total / plain_s, total / floor_s
    return {
        "chats": chats,
        "tokens_each": tokens,
        "token_interval_ms": DELAY * 1000,
        "ours_tokens_per_s": round(ours_rate),
        "plain_websocket_tokens_per_s": round(plain_rate),
        "ratio": ratio(ours_rate, plain_rate),
        "raw_temporal_floor_tokens_per_s": round(floor_rate),
        "floor_ratio_to_plain": ratio(floor_rate, plain_rate),
        "ratio_to_floor": ratio(ours_rate, floor_rate),
        "ours_worker_cpu_ms_per_1000_tokens": round(ours_cpu["worker_or_endpoint"] * per_1000, 1),
        "ours_api_cpu_ms_per_1000_tokens": round(ours_cpu["api"] * per_1000, 1),
        "plain_server_cpu_ms_per_1000_tokens": round(plain_cpu["worker_or_endpoint"] * per_1000, 1),
        "core_seconds": {
            "ours": {**ours_cpu, "wall": round(ours_s, 2)},
            "plain": {**plain_cpu, "wall": round(plain_s, 2)},
            "floor": {**floor_cpu, "wall": round(floor_s, 2)},
        },
        "per_turn": await _per_turn(stack, chats),
        "target": {"ratio_min": 0.7},
    }
