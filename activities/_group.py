"""`ActivityGroup`: the base for a class of activities that share injected clients."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from agents import Settings
from workflows.temporal_internals import defines_activity


class ActivityGroup:
    """Subclass and decorate methods with `@activity.defn`; the worker creates one
    instance with the process's Redis client and settings and registers its methods.
    Workflows refer to them unbound: `step.do("name", MyActivities.method, arg)`."""

    __activity_group__ = True

    def __init__(self, *, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings

    def all(self) -> list[Callable[..., Any]]:
        return [getattr(self, name) for name, member in inspect.getmembers(type(self)) if defines_activity(member)]
