"""Demo app: the activities. An example of using the framework, not part of it."""

from .items import DemoActivities, ItemInput, executions_key

__all__ = ["DemoActivities", "ItemInput", "executions_key"]
