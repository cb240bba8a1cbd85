"""Activities: the bridge activities (workflow effects -> the agent layer), the worker's
Temporal plugin that registers them, and the base for user activity groups.

Framework only; the demo activities live in `activities.demo`.
"""

from ._bridge import BridgeActivities
from ._group import ActivityGroup
from ._plugin import AgentsPlugin

__all__ = ["ActivityGroup", "AgentsPlugin", "BridgeActivities"]
