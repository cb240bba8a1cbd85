"""The data converter: pydantic's (`temporalio.contrib.pydantic`), with the type adapters
of the types every run shares built once per process instead of once per run.

The SDK makes a new payload converter for each workflow it runs, and with it a new cache
of pydantic type adapters, so the adapter of a workflow's input type and of each activity
result type it reads is built again in every run: measured with `TypeAdapter(T)` in a
loop, 1.3 ms for a chat turn's input and 0.8 ms for its model step's result, 0.6 ms for
an agent run's input, about 2 ms of worker CPU per chat turn (bench/chat.py
`concurrent_chats` runs 100 at once). A type of a module the sandbox passes through (the
framework's contracts, the app's own passed-through modules) is the same class in every
run, so its adapter is kept for the process. The types of a sandboxed module are a new
class in every run: they keep the SDK's own per-run cache (kept for the process, they
would keep every finished run's module alive).

Public parts only: `PydanticJSONPlainPayloadConverter.from_payload` (overridden) and
`DefaultPayloadConverter.default_encoding_payload_converters`, composed as
`PydanticPayloadConverter` composes them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)


@functools.lru_cache(maxsize=1024)
def _adapter(cls: type) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


class _JSONConverter(PydanticJSONPlainPayloadConverter):
    """Pydantic's JSON converter, reading the types of `shared_modules` with adapters kept
    for the process."""

    def __init__(self, shared_modules: tuple[str, ...]) -> None:
        super().__init__()
        self._shared_modules = shared_modules
        self._prefixes = tuple(f"{module}." for module in shared_modules)

    def _shared(self, hint: Any) -> bool:
        if not isinstance(hint, type):
            return False
        module = hint.__module__
        return module in self._shared_modules or module.startswith(self._prefixes)

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        if self._shared(type_hint):
            return _adapter(type_hint).validate_json(payload.data)  # type: ignore[arg-type]
        return super().from_payload(payload, type_hint)


def data_converter(*, shared_modules: Iterable[str]) -> DataConverter:
    """Pydantic's data converter whose adapters for the types of `shared_modules` (modules
    the workflow sandbox passes through, and their submodules) are built once per process."""
    modules = tuple(shared_modules)

    class AgentsPayloadConverter(CompositePayloadConverter):
        def __init__(self) -> None:
            json = _JSONConverter(modules)
            super().__init__(
                *(
                    json if isinstance(c, JSONPlainPayloadConverter) else c
                    for c in DefaultPayloadConverter.default_encoding_payload_converters
                )
            )

    return DataConverter(payload_converter_class=AgentsPayloadConverter)
