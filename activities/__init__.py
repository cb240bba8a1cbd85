"""Activities: the bridge activities (workflow effects -> the agent layer), the worker's
Temporal plugin that registers them, and the base for user activity groups.

Framework only; the demo activities live in `activities.demo`.

Only `ActivityGroup` loads with the package: user modules of activities import it, and
the API process imports those modules too (to learn the agents and workflows they
define) without ever running a worker. The rest, the worker's side (Temporal's worker
machinery, 3 to 4 MB of a started API process), loads when first named.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._group import ActivityGroup

if TYPE_CHECKING:
    from ._bridge import BridgeActivities
    from ._log_context import LogContextInterceptor
    from ._plugin import AgentsPlugin

__all__ = ["ActivityGroup", "AgentsPlugin", "BridgeActivities", "LogContextInterceptor"]

_WORKER_SIDE = {"AgentsPlugin": "._plugin", "BridgeActivities": "._bridge", "LogContextInterceptor": "._log_context"}


def __getattr__(name: str) -> Any:
    module = _WORKER_SIDE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # found directly from now on
    return value
