"""The worker's sandbox runner answers the SDK's per-payload context questions without
re-entering the sandbox, and answers them exactly as the SDK's own path would. A newer
temporalio that moves what the runner leans on fails here, not in production."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

from activities import AgentsPlugin
from activities._sandbox import AgentsSandboxRunner, _FastInstance
from agents import AgentRuntime
from tests.helpers import wait_for_status

QUESTIONS = ("get_serialization_context", "get_external_store_context")


async def test_each_context_is_the_sdks_and_none_reenters_the_sandbox(
    runtime: AgentRuntime, worker: Worker, agent_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers: list[tuple[Any, Any]] = []  # (ours, the SDK's) for each question
    reentered: list[str] = []
    comparing = False

    def run_code(self: _Instance, code: Any, **extra: Any) -> None:
        text = code if isinstance(code, str) else " ".join(code.co_names)  # compiled by ours
        if not comparing and any(question in text for question in QUESTIONS):
            reentered.append(text)
        return sdk_run_code(self, code, **extra)

    def compared(question: str) -> Any:
        ours, sdks = getattr(_FastInstance, question), getattr(_Instance, question)

        def ask(self: _FastInstance, command_info: Any) -> Any:
            nonlocal comparing
            answer = ours(self, command_info)
            comparing = True
            try:
                answers.append((answer, sdks(self, command_info)))
            finally:
                comparing = False
            return answer

        return ask

    sdk_run_code = _Instance._run_code
    monkeypatch.setattr(_Instance, "_run_code", run_code)
    for question in QUESTIONS:
        monkeypatch.setattr(_FastInstance, question, compared(question))

    # A signal's payload (workflow context) and a status activity's arguments (activity context).
    agent = runtime.agent("recorder-agent", agent_name)
    run_id = await agent.run_workflow("event_flow", {})
    await wait_for_status(agent, run_id, "waiting")
    await agent.send_workflow_event(run_id, "go", {"n": 1})
    info = await wait_for_status(agent, run_id, "complete", "errored")

    assert info.result == {"type": "go", "payload": {"n": 1}}
    assert answers, "the worker's runner never answered: AgentsPlugin no longer uses AgentsSandboxRunner"
    assert [ours for ours, sdks in answers if ours != sdks] == []
    kinds = {type(ours) for ours, _ in answers}
    assert {ActivitySerializationContext, WorkflowSerializationContext} <= kinds, kinds
    assert reentered == [], "a context question went through the sandbox: the SDK moved what the runner uses"


def test_every_module_of_the_framework_workflow_code_is_passed_through() -> None:
    """A framework workflow module left out is imported again for every run of every
    workflow (`workflows/__init__` imports them all): adding the chat workflow without
    its entry cost about 7 ms of worker CPU per run (bench/chat.py, py-spy)."""
    from pathlib import Path

    from agents import PASSTHROUGH

    package = Path(__file__).resolve().parent.parent / "workflows"
    modules = {f"workflows.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    assert sorted(modules - set(PASSTHROUGH)) == []


async def test_a_workflow_class_is_validated_once_per_process_and_a_bad_one_is_still_refused(
    runtime: AgentRuntime, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK validates every workflow class (an instance made in the sandbox) each time a
    worker is made; the runner does it once per class and restrictions. A class that
    fails validation is refused on every try (nothing is remembered of a failure)."""
    validated: list[type] = []
    sdk_prepare = SandboxedWorkflowRunner.prepare_workflow

    def counting(self: SandboxedWorkflowRunner, defn: Any) -> None:
        validated.append(defn.cls)
        sdk_prepare(self, defn)

    monkeypatch.setattr(SandboxedWorkflowRunner, "prepare_workflow", counting)
    for _ in range(2):
        async with Worker(client, task_queue=f"tq-{uuid.uuid4().hex[:8]}", plugins=[AgentsPlugin(runtime)]):
            pass
    assert len(validated) == len(set(validated))  # none twice (some were validated before this test)

    runner = AgentsSandboxRunner()
    for _ in range(2):
        with pytest.raises(Exception):  # noqa: B017 (whatever the sandbox refuses it with)
            runner.prepare_workflow(workflow._Definition.must_from_class(BadAtInit))


@workflow.defn(name="bad_at_init", sandboxed=True)
class BadAtInit:
    """Fails validation: its instance cannot be made."""

    def __init__(self) -> None:
        raise RuntimeError("refused at init")

    @workflow.run
    async def run(self) -> None: ...
