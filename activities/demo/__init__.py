"""Demo app: the activities. An example of using the framework, not part of it."""

from .http_call import HttpActivities, HttpCallInput
from .items import DemoActivities, ItemInput, executions_key

__all__ = ["DemoActivities", "HttpActivities", "HttpCallInput", "ItemInput", "executions_key"]
