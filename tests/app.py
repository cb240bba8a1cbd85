"""Agents, workflows and activities used by the tests (loaded like a user's module)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError

from activities import ActivityGroup
from agents import SERVER, Agent, callable_method, interleave
from agents.chat import ChatAgent, ChatReply, ChatRequest
from workflows import AgentWorkflow, AgentWorkflowEvent, AgentWorkflowStep, StepContext, active_run


def calls_key(agent: Agent[Any]) -> str:
    return f"test:calls:{agent.agent_type}:{agent.name}"


class RecorderAgent(Agent[dict[str, Any]]):
    """Records every callback it receives in a Redis list, in order."""

    initial_state: dict[str, Any] = {"counter": 0}

    async def _record(self, kind: str, *args: Any) -> None:
        await self.runtime.redis.rpush(calls_key(self), json.dumps([kind, *args]))

    async def on_workflow_progress(self, workflow_name: str, workflow_id: str, progress: Any) -> None:
        if isinstance(progress, dict) and progress.get("slow"):
            await asyncio.sleep(progress["slow"])  # holds up the run's later progress reports
        await self._record("progress", workflow_name, workflow_id, progress)

    async def on_workflow_complete(self, workflow_name: str, workflow_id: str, result: Any) -> None:
        await self._record("complete", workflow_name, workflow_id, result)

    async def on_workflow_error(self, workflow_name: str, workflow_id: str, error: dict[str, str]) -> None:
        await self._record("error", workflow_name, workflow_id, error)

    async def on_workflow_event(self, workflow_name: str, workflow_id: str, event: Any) -> None:
        await self._record("event", workflow_name, workflow_id, event)

    async def add(self, a: int, b: int) -> int:
        return a + b

    async def slow_increment(self) -> int:
        """Read-modify-write of the state with a pause: only safe if calls are serialized."""
        value = self.state["counter"]
        await asyncio.sleep(0.02)
        await self.set_state({**self.state, "counter": value + 1})
        return value + 1

    @callable_method
    async def ping(self) -> str:
        return "pong"

    @callable_method
    async def divide(self, a: float, b: float) -> float:
        if b == 0:
            raise ValueError("cannot divide by zero")
        return a / b

    @callable_method
    async def sleep_for(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "awake"

    @callable_method(streaming=True)
    async def count_to(self, stream: Any, n: int) -> None:
        for i in range(1, n + 1):
            stream.send(i)
        stream.end("done")

    @callable_method
    async def unsendable(self, kind: str) -> Any:
        """A result JSON cannot carry: the caller must hear so, not wait for ever."""
        return {"object": object(), "bytes": b"\xff\xfe", "nan": float("nan"), "inf": [float("inf")]}[kind]

    @callable_method
    async def broadcast_nan(self) -> str:
        try:
            await self.broadcast({"value": float("nan")})
        except Exception as err:
            return f"{type(err).__name__}: {err}"
        return "sent"


class GuardedAgent(Agent[dict[str, Any]]):
    """Rejects any state whose `level` is negative."""

    initial_state: dict[str, Any] = {"level": 0}

    def validate_state_change(self, state: dict[str, Any], source: Any) -> None:
        if state.get("level", 0) < 0:
            raise ValueError("level must not be negative")

    async def authorize_request(self, request: Any) -> None:
        """An agent's own check on top of token scopes: nobody called mallory gets in."""
        principal = getattr(request.state, "principal", None)
        if principal is not None and principal.subject == "mallory":
            raise PermissionError("guarded-agent does not serve mallory")

    async def on_connect(self, connection: Any) -> None:
        if connection.principal.subject == "mallory":
            raise PermissionError("guarded-agent does not serve mallory")


class DoorAgent(Agent[dict[str, Any]]):
    """Answers before routing (Cloudflare's onBeforeRequest / onBeforeConnect)."""

    @classmethod
    async def on_before_request(cls, request: Any, name: str) -> Any:
        from starlette.responses import JSONResponse  # API-side only: this module is a workflow module too

        if request.headers.get("x-pass") != "yes":
            return JSONResponse({"error": "no_pass", "message": f"{name} wants x-pass"}, status_code=429)
        return None

    @classmethod
    async def on_before_connect(cls, request: Any, name: str) -> Any:
        from starlette.responses import PlainTextResponse

        return None if request.query_params.get("pass") == "yes" else PlainTextResponse("no pass", status_code=403)


class RoomAgent(Agent[dict[str, Any]]):
    """Connections with tags and state (Cloudflare's getConnectionTags, connection.setState)."""

    async def get_connection_tags(self, connection: Any, ctx: Any) -> list[str]:
        room = connection.query.get("room", "lobby")
        return [room] if ctx.request.headers.get("x-no-tags") is None else []

    @callable_method
    async def shout(self, room: str, text: str) -> None:
        await self.broadcast({"type": "shout", "room": room, "text": text}, tags=[room])

    @callable_method
    async def here(self, room: str) -> list[str]:
        """The ids of this process's connections in `room`."""
        return sorted(c.id for c in self.get_connections(room))

    async def on_message(self, connection: Any, message: Any) -> None:
        if message.get("type") == "boom":
            raise RuntimeError("boom")
        seen = connection.set_state(lambda prev: {"n": (prev or {"n": 0})["n"] + 1})
        found = self.get_connection(connection.id)
        connection.send({"type": "seen", "state": seen, "found": found is connection, "tags": list(connection.tags)})

    async def on_error(self, connection: Any, error: BaseException) -> None:
        await self.runtime.redis.rpush(calls_key(self), f"{connection.id}:{error}")


class GatekeeperAgent(Agent[dict[str, Any]]):
    """Only the server may grant `admin`; records the source of every change it sees."""

    initial_state: dict[str, Any] = {"admin": False}

    def validate_state_change(self, state: dict[str, Any], source: Any) -> None:
        if state.get("admin") and source != SERVER:
            raise PermissionError("only the server may grant admin")

    async def on_state_update(self, state: dict[str, Any], source: Any) -> None:
        kind = source if isinstance(source, str) else f"{type(source).__name__}:{source.id}"
        await self.runtime.redis.rpush(calls_key(self), json.dumps(kind))


class WebhookAgent(Agent[dict[str, Any]]):
    """Answers HTTP of its own through `on_request`: a GET and a streaming POST."""

    initial_state: dict[str, Any] = {"hooks": 0}

    async def on_request(self, request: Any) -> Any:
        from fastapi.responses import JSONResponse, StreamingResponse

        if request.method == "GET" and request.url.path.endswith("/hello"):
            return JSONResponse({"hello": self.name, "query": dict(request.query_params)})
        if request.method == "POST" and request.url.path.endswith("/hook"):
            body = await request.json()
            await self.merge_state({"hooks": self.state["hooks"] + 1})

            async def lines() -> Any:
                for i in range(body["n"]):
                    yield f"chunk {i}\n"

            return StreamingResponse(lines(), media_type="text/plain")
        return await super().on_request(request)


class CallbackAgent(Agent[dict[str, Any]]):
    """Overrides only the catch-all `on_workflow_callback`: records every callback."""

    async def on_workflow_callback(self, callback: Any) -> None:
        await self.runtime.redis.rpush(calls_key(self), json.dumps([callback.type, callback.workflow_id]))


class ChurnAgent(Agent[dict[str, Any]]):
    """Greets each client in its turn (20 ms of work) and records every greeting and
    farewell, by connection id."""

    async def on_connect(self, connection: Any) -> None:
        await self.runtime.redis.rpush(calls_key(self), json.dumps(["connect", connection.id]))
        await asyncio.sleep(0.02)

    async def on_close(self, connection: Any) -> None:
        await self.runtime.redis.rpush(calls_key(self), json.dumps(["close", connection.id]))

    @callable_method
    async def ping(self) -> str:
        return "pong"


class ProbeAgent(Agent[dict[str, Any]]):
    """Agent code written the natural way: read-modify-writes of `self.state`, which only
    keep every update if the agent runs one call at a time."""

    initial_state: dict[str, Any] = {"n": 0, "progress": 0, "seen": []}

    @callable_method
    async def bump(self) -> int:
        n = self.state.get("n", 0)
        await self.set_state({**self.state, "n": n + 1})
        return n + 1

    @callable_method
    async def slow_bump(self) -> int:
        """The same with an await between the read and the write."""
        n = self.state["n"]
        await asyncio.sleep(0.005)
        await self.set_state({**self.state, "n": n + 1})
        return n + 1

    @callable_method
    async def append(self, value: Any) -> int:
        seen = [*self.state["seen"], value]
        await asyncio.sleep(0.001)
        await self.merge_state({"seen": seen})
        return len(seen)

    @callable_method
    async def hold(self, seconds: float) -> str:
        """Keeps the turn a while; marks in state that it has it."""
        await self.merge_state({"holding": True})
        await asyncio.sleep(seconds)
        await self.merge_state({"holding": False})
        return "released"

    @callable_method(interleave=True)
    async def peek(self) -> dict[str, Any]:
        return dict(self.state)

    @interleave
    async def interleaved_bump(self) -> int:
        async with self.turn():
            return await self.bump()

    @callable_method
    async def bump_twice(self) -> int:
        """Calls its own methods, and re-enters its own turn."""
        await self.bump()
        async with self.turn():
            return await self.bump()

    @callable_method
    async def start_own(self, reports: int) -> str:
        """Starts a run whose callbacks (progress, agent calls, state) come back here."""
        return await self.run_workflow("probe_flow", {"reports": reports})

    @callable_method
    async def nudge(self, workflow_id: str) -> str:
        """Sends an event to its own run, which then writes this agent's state."""
        await self.send_workflow_event(workflow_id, "go", {"from": "agent"})
        return "sent"

    async def on_workflow_progress(self, workflow_name: str, workflow_id: str, progress: Any) -> None:
        count = self.state["progress"]
        await asyncio.sleep(0)
        await self.merge_state({"progress": count + 1})


def starts_key(agent: Agent[Any]) -> str:
    return f"test:starts:{agent.agent_type}:{agent.name}"


class ReminderAgent(Agent[dict[str, Any]]):
    """Scheduled and queued method calls, counted in state by read-modify-writes (which
    keep every count only if each call runs in the agent's turn)."""

    initial_state: dict[str, Any] = {"fired": {}, "order": [], "n": 0}

    async def on_start(self) -> None:
        await self.runtime.redis.incr(starts_key(self))

    async def remind(self, payload: Any, call: Any) -> None:
        """A scheduled call: counts its firings by schedule id."""
        fired = dict(self.state["fired"])
        await asyncio.sleep(0.001)
        fired[call.id] = fired.get(call.id, 0) + 1
        await self.set_state({**self.state, "fired": fired, "last": payload})

    async def record(self, payload: Any) -> None:
        """A queued call: appends its payload (slowly, when asked to)."""
        order = [*self.state["order"], payload]
        if isinstance(payload, dict) and payload.get("sleep"):
            await asyncio.sleep(payload["sleep"])
        if isinstance(payload, dict) and payload.get("fail_times"):
            tries = await self.runtime.redis.incr(f"{starts_key(self)}:tries")
            if tries <= payload["fail_times"]:
                raise RuntimeError(f"failing on purpose ({tries})")
        await self.set_state({**self.state, "order": order})

    @callable_method
    async def bump(self) -> int:
        n = self.state["n"]
        await asyncio.sleep(0.001)
        await self.set_state({**self.state, "n": n + 1})
        return n + 1

    @callable_method
    async def plan(self, kind: str, value: Any, payload: Any = None) -> str:
        """Schedules `remind` the way a Cloudflare agent would, from its own code."""
        if kind == "every":
            call = await self.schedule_every(value, "remind", payload)
        elif kind == "at":
            call = await self.schedule(datetime.now(UTC) + timedelta(seconds=value), self.remind, payload)
        else:
            call = await self.schedule(value, "remind", payload)
        return call.id

    @callable_method
    async def enqueue(self, payload: Any) -> str:
        return await self.queue(self.record, payload)

    @callable_method
    async def begin(self) -> str:
        """A run that waits for an approval (so it is running when the agent is destroyed)."""
        return await self.run_workflow("event_flow", {})


# ----- activities -----


@dataclass
class FlakyInput:
    key: str
    fail_times: int


@dataclass
class JournalInput:
    path: str
    index: int
    seconds: float


class TestActivities(ActivityGroup):
    @activity.defn(name="test.flaky")
    async def flaky(self, input: FlakyInput) -> int:
        """Fails `fail_times` times, then succeeds; records each attempt's time."""
        attempts = await self.redis.rpush(input.key, time.time())
        if attempts <= input.fail_times:
            raise RuntimeError(f"flaky failure {attempts}")
        return attempts

    @activity.defn(name="test.count")
    async def count(self, input: FlakyInput) -> int:
        """Counts executions of step `fail_times` (used as an index) under `key`."""
        return await self.redis.hincrby(input.key, str(input.fail_times), 1)

    @activity.defn(name="test.journal")
    async def journal(self, input: JournalInput) -> int:
        """Appends the step's index to a local file, then works a while: an execution log
        that lives outside Redis and Temporal, so it survives killing either."""
        with open(input.path, "a") as journal:
            journal.write(f"{input.index}\n")
        await asyncio.sleep(input.seconds)
        return input.index

    @activity.defn(name="test.slow")
    async def slow(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"


class CallerAgent(Agent[dict[str, Any]]):
    """Calls another agent through its stub (Cloudflare's getAgentByName)."""

    initial_state = {"asked": 0}

    @callable_method
    async def ask(self, name: str, n: int) -> int:
        callee = await self.get_agent(CalleeAgent, name)
        doubled = await callee.double(n)
        await self.merge_state({"asked": self.state["asked"] + 1})
        return doubled

    @callable_method
    async def ring(self, name: str) -> str:
        """A calls B calls A, in one chain."""
        return await (await self.get_agent("callee-agent", name)).call_back(self.name)

    async def echo(self, word: str, *, loud: bool = False) -> str:
        return word.upper() if loud else word


class CalleeAgent(Agent[dict[str, Any]]):
    initial_state = {"doubled": 0}

    async def double(self, n: int) -> int:
        await self.merge_state({"doubled": self.state["doubled"] + 1})
        return 2 * n

    async def call_back(self, caller: str) -> str:
        return await (await self.get_agent(CallerAgent, caller)).echo("back", loud=True)

    async def refuse(self) -> None:
        raise ValueError("not today")


class TextErrorAgent(Agent[dict[str, Any]]):
    """Cloudflare's hook signature: the error as a string."""

    async def on_workflow_error(self, workflow_name: str, workflow_id: str, error: str) -> None:
        await self.merge_state({"error": error})


# ----- workflows -----


class RetryParams(BaseModel):
    key: str
    fail_times: int
    retries: dict[str, Any]
    timeout: str = "10 seconds"


class RetryFlow(AgentWorkflow[RecorderAgent, RetryParams, Any]):
    async def run(self, event: AgentWorkflowEvent[RetryParams], step: AgentWorkflowStep) -> int:
        p = event.payload
        return await step.do(
            "flaky",
            TestActivities.flaky,
            FlakyInput(p.key, p.fail_times),
            retries=p.retries,
            timeout=p.timeout,
        )


class SlowStepFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> str:
        return await step.do(
            "slow",
            TestActivities.slow,
            event.payload["seconds"],
            timeout=event.payload["timeout"],
            retries={"limit": 0},
        )


class SleepFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> list[float]:
        start = workflow.now()
        await step.sleep("nap", "1 second")
        after_sleep = (workflow.now() - start).total_seconds()
        await step.sleep_until("alarm", event.payload["until_ms"])
        after_until = (workflow.now() - start).total_seconds()
        return [after_sleep, after_until]


class EventFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        if event.payload.get("sleep_first"):
            await step.sleep("before", event.payload["sleep_first"])
        for progress in event.payload.get("progress_first", []):
            await self.report_progress(progress)
        received = await step.wait_for_event("wait for go", type="go", timeout=event.payload.get("timeout", "1 hour"))
        if event.payload.get("then_sleep"):
            await step.sleep("after", event.payload["then_sleep"])
        return {"type": received.type, "payload": received.payload}


class StateFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> str:
        await step.update_agent_state({"counter": 10, "phase": "set"})
        await step.merge_agent_state({"phase": "merged", "extra": [1, 2]})
        if event.payload.get("reset"):
            await step.reset_agent_state()
        return "ok"


class MergeFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> str:
        await step.merge_agent_state({event.payload["key"]: True})
        return "ok"


class AgentCallFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        total = await self.agent.add(2, 3)
        self.broadcast_to_clients({"type": "hello", "total": total})
        await self.report_progress({"percent": 50})
        await step.send_event({"kind": "milestone", "total": total})
        return total


class OtherAgentFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    """Calls another agent (get_agent) from workflow code and from an inline step body."""

    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        callee = self.get_agent(CalleeAgent, event.payload["callee"])
        first = await callee.double(1)
        second = await step.do("double", lambda: callee.double(first))
        try:
            await callee.refuse()
            refused = "no"
        except ApplicationError as err:
            refused = f"{err.type}: {err.message}"
        return {"first": first, "second": second, "refused": refused}


class CancelledStepFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    """A state write, then the step that would carry it cancelled before it starts."""

    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        await step.merge_agent_state({"carried": 1})
        never = asyncio.ensure_future(step.do("never", TestActivities.slow, 5, timeout="1 minute"))
        await asyncio.sleep(0)  # the step schedules its activity, with the write in its header
        never.cancel()
        with contextlib.suppress(BaseException):
            await never
        return "done"


class HeldWriteFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    """A state write carried by a step that allows no retry and one second, while the
    agent's turn is held longer than that (as in a Redis outage, the write cannot land)."""

    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        await step.merge_agent_state({"held": 1})
        return await step.do("quick", TestActivities.slow, 0, timeout="1 second", retries={"limit": 0})


class LenientParams(BaseModel):
    model_config = ConfigDict(extra="ignore")  # the documented way to accept unknown fields

    key: str


class LenientFlow(AgentWorkflow[RecorderAgent, LenientParams, Any]):
    async def run(self, event: AgentWorkflowEvent[LenientParams], step: AgentWorkflowStep) -> Any:
        return event.payload.key


class ApprovalNoteFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    """Returns what `wait_for_approval` gave it."""

    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        approval = await self.wait_for_approval(step)
        return {"approved": approval.approved, "reason": approval.reason, "metadata": approval.metadata}


class TwoReportsFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    """White box: two status reports in flight at once (a signal handler's beside the
    run's own) while the run takes another event. Returns the event ids it still has to
    report as taken."""

    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        await step.wait_for_event("one", type="one", timeout="1 minute")  # taken, not reported yet
        run = active_run(self)
        assert run is not None
        await workflow.wait_condition(lambda: run.has_event("two"))
        first = asyncio.ensure_future(run.set_status("running"))
        second = asyncio.ensure_future(run.set_status("running"))
        await asyncio.sleep(0)  # both have made their reports, each carrying the first event's id
        run.take_event("two")  # taken while they are in flight: the next report must carry it
        await asyncio.gather(first, second)
        return list(run.state.consumed)


class CounterFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        return await self.agent.slow_increment()


class ExplicitReportFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        await step.report_complete({"early": True})
        return {"returned": True}


class FailFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        raise ValueError(f"boom: {event.payload.get('why', 'no reason')}")


class RepeatFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    """Step names used twice, as Cloudflare code does: numbered `nap`, `nap-1`, ..."""

    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        await step.sleep("nap", "10 ms")
        await step.sleep("nap", "10 ms")
        first = (await self.wait_for_approval(step, timeout="1 minute")).metadata
        second = (await self.wait_for_approval(step, timeout="1 minute")).metadata
        if then_sleep := event.payload.get("then_sleep"):
            await step.sleep("after", then_sleep)
        return [first, second]


class InlineFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    """An inline step: a closure over the run's locals doing real I/O (a GET to a local
    server that counts hits), then a durable agent call from an inline step."""

    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        host, port, label = event.payload["host"], event.payload["port"], event.payload.get("label", "x")

        async def hit(path: str) -> dict[str, Any]:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
            response = await reader.read()
            writer.close()
            status = int(response.split()[1])
            if status >= 500:
                raise RuntimeError(f"the server answered {status}")
            return {"hits": int(response.split(b"\r\n\r\n", 1)[1]), "label": label}

        retries = {"limit": event.payload.get("retries", 0), "delay": "50 ms", "backoff": "constant"}
        first = await step.do("fetch", hit, "/hit", retries=retries)
        saved = await step.do("save", lambda: self.agent.add(first["hits"], 100))
        if event.payload.get("wait"):
            await step.wait_for_event("go", type="go", timeout="1 minute")
        return {"first": first, "saved": saved}


class StepFeaturesFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    """Cloudflare's 2026 step features: parallel steps (asyncio.gather of step.do), a step
    context given to a body that asks (`ctx`), and a dynamic retry delay."""

    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        ran: dict[str, int] = {}

        async def part(i: int, ctx: StepContext) -> list[Any]:
            ran[f"part{i}"] = ran.get(f"part{i}", 0) + 1
            await asyncio.sleep(0.05)
            return [i, ctx.step.name, ctx.step.count, ctx.attempt]

        parts = await asyncio.gather(*(step.do("part", part, i) for i in range(3)))

        async def flaky(ctx: StepContext) -> dict[str, Any]:
            if ctx.attempt < 3:
                raise ApplicationError(f"try {ctx.attempt}", type="Flaky")
            return {"attempt": ctx.attempt, "config": ctx.config}

        def wait(attempt: int, error: Exception) -> str | None:
            return f"{10 * attempt} ms" if isinstance(error, ApplicationError) and error.type == "Flaky" else None

        flaked = await step.do("flaky", flaky, retries={"limit": 5, "delay": wait})
        fatal_tries = 0

        async def fatal() -> None:
            nonlocal fatal_tries
            fatal_tries += 1
            raise ApplicationError("no", type="Fatal")

        try:
            await step.do("fatal", fatal, retries={"limit": 5, "delay": wait})
        except ApplicationError:
            pass
        return {"parts": parts, "ran": ran, "flaky": flaked, "fatal_tries": fatal_tries}


class SagaFlow(AgentWorkflow[RecorderAgent, dict, Any]):
    """A saga: three steps with undos, then one that fails; the undos run newest first.
    With `gate`, the undo of `b` waits for that file (a worker is killed while it waits).
    With `hold`, the run waits for a `charge` event before it fails (it is terminated
    meanwhile)."""

    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        path, gate, hold = event.payload["path"], event.payload.get("gate"), event.payload.get("hold")

        def note(line: str) -> None:
            with open(path, "a") as journal:
                journal.write(line + "\n")

        async def do(x: str) -> dict[str, str]:
            note(f"do-{x}")
            return {"id": x}

        async def undo(output: dict[str, str], error: Exception) -> None:
            if gate and output["id"] == "b":
                while not os.path.exists(gate):
                    await asyncio.sleep(0.05)
            note(f"undo-{output['id']}: {getattr(error, 'message', error)}")

        async def fail() -> None:
            raise ApplicationError("out of stock", type="OutOfStock", non_retryable=True)

        for x in ("a", "b", "c"):
            await step.do(f"reserve-{x}", do, x, rollback=undo)
        await step.do("no-undo", do, "d")
        if hold:
            await step.wait_for_event("charge", type="charge", timeout="1 hour")
        await step.do("charge", fail)


class GuardedFlow(AgentWorkflow[GuardedAgent, dict, Any]):
    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        await step.merge_agent_state({"level": event.payload["level"]})
        return "ok"


class CollectEvents(AgentWorkflow[RecorderAgent, dict, Any]):
    """A keyed pipeline: collects `count` webhook events, then finishes with their payloads."""

    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> list[Any]:
        payloads = []
        for i in range(event.payload.get("count", 2)):
            received = await step.wait_for_event(f"event-{i}", type="webhook", timeout="1 minute")
            payloads.append(received.payload)
        return payloads


class LongRun(AgentWorkflow[RecorderAgent, dict, Any]):
    """Continues as new every ~40 history events: a long run in miniature."""

    history_limit = 40

    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        key, count = event.payload["key"], event.payload["count"]
        for i in range(count):
            await step.do(f"item-{i}", TestActivities.count, FlakyInput(key, i))
            await self.report_progress({"done": i + 1})
            await step.merge_agent_state({"done": i + 1})
        await step.sleep("breather", "10 ms")
        final = await step.wait_for_event("final", type="go", timeout="1 minute")
        return {"processed": count, "final": final.payload, "execution": workflow.info().run_id}


class ProbeFlow(AgentWorkflow[ProbeAgent, dict, Any]):
    """Reports progress `reports` times, calling back into its agent each time; with
    `wait`, then waits for a `go` event and writes the agent's state."""

    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        for i in range(event.payload.get("reports", 1)):
            await self.report_progress({"i": i})
        n = await self.agent.bump()
        if event.payload.get("wait"):
            got = await step.wait_for_event("go", type="go", timeout="1 minute")
            await step.merge_agent_state({"nudged_by": got.payload["from"]})
        return n


class CallbackFlow(AgentWorkflow[CallbackAgent, dict, Any]):
    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        await self.report_progress({"half": True})
        await step.send_event({"kind": "milestone"})
        if event.payload.get("sign_off"):  # an approval carried by an event type of its own
            return (await self.wait_for_approval(step, event_type="sign-off", timeout="1 minute")).metadata
        return {"workflow_id": self.workflow_id, "workflow_name": self.workflow_name}


class JournalParams(BaseModel):
    path: str
    count: int
    seconds: float = 0.2


class JournalFlow(AgentWorkflow[RecorderAgent, JournalParams, Any]):
    """Fault-suite workload: a journaled step, progress and a state merge per item, with
    retries quick enough to ride out a server restart within a test."""

    async def run(self, event: AgentWorkflowEvent[JournalParams], step: AgentWorkflowStep) -> Any:
        p = event.payload
        for i in range(p.count):
            await step.do(
                f"item-{i}",
                TestActivities.journal,
                JournalInput(p.path, i, p.seconds),
                retries={"limit": 60, "delay": "500 ms", "backoff": "constant"},
                timeout="10 seconds",
            )
            await self.report_progress({"done": i + 1})
            await step.merge_agent_state({"done": i + 1})
        return {"processed": p.count}


class FailingForText(AgentWorkflow[TextErrorAgent, dict, Any]):
    async def run(self, event: AgentWorkflowEvent[dict], step: AgentWorkflowStep) -> Any:
        raise ValueError("broken on purpose")


class ProviderChat(ChatAgent[dict[str, Any]]):
    """Answers with the model library's OpenAI client against the tests' local
    OpenAI-compatible server (`tests/fake_openai.py`, at `$FAKE_OPENAI_URL`); its weather
    tool counts its runs in Redis."""

    async def on_chat_message(self, request: ChatRequest) -> ChatReply:
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        provider = OpenAIProvider(base_url=os.environ["FAKE_OPENAI_URL"], api_key="test-key")
        return ChatReply(model=OpenAIChatModel("fake-model", provider=provider), tools=[self.get_weather])

    async def get_weather(self, city: str) -> dict[str, Any]:
        """The forecast for a city."""
        await self.runtime.redis.incr(f"test:tool-runs:{self.name}")
        return {"city": city, "forecast": "sunny"}


class BrokenChat(ChatAgent[dict[str, Any]]):
    """Its `on_chat_message` has a bug."""

    async def on_chat_message(self, request: ChatRequest) -> ChatReply:
        raise ValueError("no model configured")
