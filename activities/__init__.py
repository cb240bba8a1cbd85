"""Activities: the built-in bridge activities and the base for user activity groups.

Framework only; the demo activities live in `activities.demo`.
"""

from ._bridge import BridgeActivities
from ._group import ActivityGroup

__all__ = ["ActivityGroup", "BridgeActivities"]
