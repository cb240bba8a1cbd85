"""The worker's workflow sandbox: temporalio's own, minus a cost it pays per payload.

For every payload of an activation and of its completion (a signal's input, an
activity's arguments, a step's summary), the SDK asks the workflow instance which
serialization context applies, once per encoding pass: three or four times a payload.
The sandboxed instance answers each question by compiling and `exec`-ing a snippet
inside the sandbox's import machinery, about 0.12 ms a time, although the answer is a
plain read of the instance's pending commands (0.004 ms). A signal that resumes a run
into a step paid 11 of them, 1.2 ms of a 6 ms workflow task (bench/approval.py).

`AgentsSandboxRunner` keeps everything that isolates workflow code (workflow code still
runs only inside the sandbox, under its import restrictions) and changes two things:
- the two context questions go straight to the instance inside the sandbox: they run
  SDK code only (temporalio is passed through, so it is the same module on both sides),
  read the instance's state and import nothing;
- the snippets the SDK runs in the sandbox are compiled once, not per call.

Both lean on private parts of temporalio's sandbox (`_Instance`, its
`__temporal_in_sandbox` global). If a newer SDK moves them, the runner falls back to
the SDK's own path (correct, only slower), and tests/test_sandbox_runner.py fails, so
an upgrade shows it in the suite and not in production.
"""

from __future__ import annotations

import functools
from typing import Any

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from workflows.temporal_internals import sandbox_instance_class

IN_SANDBOX = "__temporal_in_sandbox"
"""The global under which the SDK keeps the instance inside the sandbox."""


@functools.lru_cache(maxsize=512)
def _compiled(code: str) -> Any:
    # The snippets are fixed strings, one per workflow class at most: a small cache.
    return compile(code, "<string>", "exec")


class _FastInstance(sandbox_instance_class()):  # type: ignore[misc]
    def _run_code(self, code: Any, **extra_globals: Any) -> None:
        super()._run_code(_compiled(code) if isinstance(code, str) else code, **extra_globals)

    def _inside(self) -> Any:
        return self.globals_and_locals.get(IN_SANDBOX)

    def get_serialization_context(self, command_info: Any) -> Any:
        inside = self._inside()
        if inside is None:
            return super().get_serialization_context(command_info)
        return inside.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        inside = self._inside()
        if inside is None:
            return super().get_external_store_context(command_info)
        return inside.get_external_store_context(command_info)


_VALIDATED: set[tuple[type, str]] = set()
"""Workflow classes validated in this process, with the restrictions they were validated under."""


class AgentsSandboxRunner(SandboxedWorkflowRunner):
    """`SandboxedWorkflowRunner` whose instances answer serialization-context questions
    without re-entering the sandbox (see the module's docstring), and which validates a
    workflow class once per process."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _FastInstance(det, self.runner_class, self.restrictions)

    def prepare_workflow(self, defn: Any) -> None:
        """The SDK's validation (an instance made in the sandbox), once per class and
        restrictions in a process: the SDK runs it for every class each time a worker is
        made, 1.4-1.9 s of CPU for the test app's 45 classes (a process that makes many
        workers: the test suite, a rolling restart of a worker in-process). The same class
        under the same restrictions validates the same way again."""
        key = (defn.cls, self._restrictions_key)
        if key in _VALIDATED:
            return
        super().prepare_workflow(defn)
        _VALIDATED.add(key)

    @functools.cached_property
    def _restrictions_key(self) -> str:
        return repr(self.restrictions)  # the restrictions are unhashable (sets inside)
