"""Limits on the JSON values clients and code hand the agent layer (state, params,
metadata, event payloads, RPC arguments), checked before anything is stored.

Three things Python's JSON parser lets through but the rest of the stack cannot take:
nesting deeper than the decoders and serializers on the way out recurse (a 900-deep list
was stored, then every read of it failed); strings with lone surrogates (`"\\ud800"` is
valid JSON text but no valid Unicode, so it cannot be encoded for Redis or a response);
and numbers too large for a double (`1e999` parses as infinity, which JSON cannot write
back: responses would fail and browsers could not parse the broadcast)."""

from __future__ import annotations

import math
from typing import Any

from pydantic_core import to_jsonable_python

from agents.core.errors import ValidationError

MAX_JSON_DEPTH = 64
"""Deepest nesting of objects and arrays accepted (the top-level object counts as 1)."""


def check_json(value: Any, *, what: str) -> None:
    """Raise ValidationError (422) naming `what` if `value` nests deeper than
    MAX_JSON_DEPTH, holds a string that is not valid Unicode, or a non-finite number."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                _check_text(item, what)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValidationError(f"{what}: a number is out of range ({item}); JSON has no Infinity or NaN")
        elif isinstance(item, dict):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep(what)
            for key, child in item.items():
                if isinstance(key, str) and not key.isascii():
                    _check_text(key, what)
                stack.append((child, depth + 1))
        elif isinstance(item, (list, tuple)):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep(what)
            stack.extend((child, depth + 1) for child in item)


def to_json_value(value: Any, *, what: str) -> Any:
    """`value` as plain JSON data (pydantic models, dataclasses, dates and UTF-8 bytes
    converted as the HTTP API converts them); ValidationError naming `what` for what JSON
    cannot carry: an object of no known type, bytes that are not UTF-8, NaN or Infinity
    (browsers' `JSON.parse` rejects them), nesting past MAX_JSON_DEPTH."""
    try:
        data = to_jsonable_python(value)
    except (ValueError, TypeError) as err:  # PydanticSerializationError, UnicodeDecodeError
        raise ValidationError(
            f"{what} is not JSON ({type(err).__name__}: {err}); use dicts, lists, strings, numbers, booleans, "
            "None, pydantic models or dataclasses"
        ) from None
    check_json(data, what=what)
    return data


def _check_text(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            f"{what}: a string holds a lone surrogate (\\ud800-\\udfff alone is not a character); send valid Unicode"
        ) from None


def _too_deep(what: str) -> ValidationError:
    return ValidationError(f"{what}: nested deeper than {MAX_JSON_DEPTH} levels of objects and arrays")
