"""The app a process serves: agents, workflows and activities found in `AGENT_MODULES`.

Built explicitly by scanning the configured modules, never by registration at import
time, so Temporal's sandbox can re-import workflow modules without side effects.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from agents.actor.agent import Agent
from agents.core.errors import NotFoundError
from workflows import AgentWorkflow
from workflows.temporal_internals import defines_activity


def _is_activity_group(obj: Any) -> bool:
    # Duck-typed (activities.ActivityGroup sets the marker) so this module needs no
    # import of the `activities` package, which itself builds on `agents`.
    return (
        inspect.isclass(obj)
        and obj.__dict__.get("__activity_group__") is None
        and getattr(obj, "__activity_group__", False)
    )


@dataclass
class AppRegistry:
    agents: dict[str, type[Agent[Any]]] = field(default_factory=dict)
    workflows: dict[str, type[AgentWorkflow[Any, Any, Any]]] = field(default_factory=dict)
    activity_functions: list[Callable[..., Any]] = field(default_factory=list)
    activity_groups: list[type] = field(default_factory=list)
    on_worker_start: list[Callable[..., Any]] = field(default_factory=list)
    """`async def on_worker_start(runtime)` of each module that defines one, run by the
    worker once it is connected (to create schedules, say)."""

    @classmethod
    def from_modules(cls, modules: Iterable[str | ModuleType]) -> AppRegistry:
        registry = cls()
        for module in modules:
            registry.add_module(importlib.import_module(module) if isinstance(module, str) else module)
        return registry

    def add_module(self, module: ModuleType) -> None:
        hook = getattr(module, "on_worker_start", None)
        if inspect.iscoroutinefunction(hook) and hook not in self.on_worker_start:
            self.on_worker_start.append(hook)
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, Agent) and not obj.__dict__.get("__agent_base__"):
                self._add(self.agents, obj.agent_type, obj, "agent type")
            elif inspect.isclass(obj) and issubclass(obj, AgentWorkflow) and "_entry" in obj.__dict__:
                self._add(self.workflows, obj.workflow_name, obj, "workflow")
            elif _is_activity_group(obj) and obj not in self.activity_groups:
                self.activity_groups.append(obj)
            elif callable(obj) and defines_activity(obj):
                if obj not in self.activity_functions:
                    self.activity_functions.append(obj)

    @staticmethod
    def _add(table: dict[str, Any], name: str, obj: type, what: str) -> None:
        if table.get(name, obj) is not obj:
            raise ValueError(f"two classes claim the {what} name {name!r}: {table[name]} and {obj}")
        table[name] = obj

    def agent_class(self, agent_type: str) -> type[Agent[Any]]:
        try:
            return self.agents[agent_type]
        except KeyError:
            raise NotFoundError(
                f"unknown agent type {agent_type!r}; known: {', '.join(sorted(self.agents)) or 'none'}"
            ) from None

    def workflow_class(self, name: str) -> type[AgentWorkflow[Any, Any, Any]]:
        try:
            return self.workflows[name]
        except KeyError:
            raise NotFoundError(
                f"unknown workflow {name!r}; known: {', '.join(sorted(self.workflows)) or 'none'}"
            ) from None
