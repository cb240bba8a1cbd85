"""The Lua scripts, kept as `.lua` files in `agents/store/lua/` and loaded as package resources.

Each script takes every key it touches fully built in KEYS (so it stays legal on Redis
Cluster, where one agent's keys share a hash slot) and gets whatever Python also builds
(index names, message envelopes) from Python rather than building it again."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def lua(*names: str) -> str:
    """The text of the scripts `names` (`agents/store/lua/<name>.lua`), joined in that order:
    `lua("snapshot", "state_write")` gives the write script its snapshot function."""
    return "\n".join((files("agents.store") / "lua" / f"{name}.lua").read_text() for name in names)
