"""The model every chat benchmark streams, on both sides: `tokens` tokens, each its own
send time (`time.time()`, the receiver subtracts it from its clock on arrival), `delay`
seconds apart, the first at once. Deterministic and offline, so what is measured is the
path from the model to the client, not a provider."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from pydantic_ai.models.function import AgentInfo, FunctionModel


def stamped_model(tokens: int, delay: float) -> FunctionModel:
    async def stream(messages: list[Any], info: AgentInfo) -> AsyncIterator[str]:
        for i in range(tokens):
            if i and delay:
                await asyncio.sleep(delay)
            yield f" {time.time():.6f}"

    return FunctionModel(stream_function=stream, model_name=f"stamped-{tokens}")


def stamps(text: str) -> list[float]:
    """The send times in a text the model streamed (a delta, or the whole answer)."""
    return [float(word) for word in text.split()]
