"""Fuzzing: schemathesis drives every operation of the OpenAPI schema with generated
(valid and invalid) input against a real API process; the WebSocket gets random and
malformed frames. Nothing may answer 500, break its own schema, or crash the server,
and a well-behaved client on the same agent must not notice."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
import websockets
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from agents import Settings
from agents.client import AgentClient
from devstack import ValkeyServer, free_port
from tests.conftest import TEST_MODULES
from tests.helpers import eventually, polled, start_entry_point

TOKEN = "fuzz-admin-key"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def fuzz_api(valkey: ValkeyServer, temporal_address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API as its own process, auth on (so the auth layer is fuzzed too)."""
    port = free_port()
    settings = Settings(temporal_address=temporal_address, redis_url=valkey.url, agent_modules=TEST_MODULES,
                        task_queue=f"fuzz-{uuid.uuid4().hex[:8]}")  # fmt: skip
    log = tmp_path_factory.mktemp("fuzz") / "api.log"
    proc = start_entry_point("api.py", settings, log, API_PORT=str(port), WEB_ROOT="",
                             API_KEYS=json.dumps({TOKEN: "control:*/*"}))  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text()[-2000:]
            import time

            time.sleep(0.05)
        yield base
        assert proc.poll() is None, f"the API process died under fuzzing:\n{log.read_text()[-3000:]}"
    finally:
        proc.terminate()
        proc.wait(10)
        _no_tracebacks(log)


def _no_tracebacks(log: Path) -> None:
    text = log.read_text()
    assert "Traceback" not in text and '"level": "error"' not in text, text[-3000:]


def test_every_operation_survives_generated_input(fuzz_api: str) -> None:
    """Driven operation by operation with Hypothesis (schemathesis' pytest plugin does not
    support this pytest yet); a failure names the operation and the shrunk request."""
    api_schema = schemathesis.openapi.from_url(f"{fuzz_api}/openapi.json", headers=AUTH)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20  # every route of SPEC section 5 and the extras
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case) -> None:
            if case.path_parameters and "agent" in case.path_parameters:
                # Aim at a registered agent type, or nearly every case stops at the 404
                # for an unknown type (covered in test_limits) and reaches nothing deeper.
                case.path_parameters["agent"] = "recorder-agent"
            case.call_and_validate(
                base_url=fuzz_api, headers=AUTH,
                checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
            )  # fmt: skip

        fuzz()
    # The API's own count of what it answered, by status: proof the fuzzing reached it,
    # and that invalid input was refused with 4xx rather than accepted or crashing.
    answered = _answered_by_status(httpx.get(f"{fuzz_api}/metrics", headers=AUTH).text)
    print("fuzzed", len(operations), "operations; answers by status:", answered)
    assert sum(answered.values()) >= 10 * len(operations), answered
    assert answered.get("422", 0) > 0 and not any(status.startswith("5") for status in answered), answered


def _answered_by_status(metrics: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for line in metrics.splitlines():
        if line.startswith("agents_http_requests_total{"):
            status = line.split('status="', 1)[1].split('"', 1)[0]
            counts[status] = counts.get(status, 0) + float(line.rsplit(" ", 1)[1])
    return counts


def _frames(rng: random.Random) -> Iterator[str | bytes]:
    """Random and malformed frames: broken JSON, wrong types, huge ids, unknown kinds,
    binary data, deep nesting, and near-valid state/rpc frames with bad fields."""
    junk = ["", "{", "}", "null", "[]", "1", '"x"', "{\"type\":", "\x00\x01", "💥" * 50, "[" * 500 + "]" * 500]
    shapes = [
        lambda: {"type": "cf_agent_state"},
        lambda: {"type": "cf_agent_state", "state": rng.choice([None, 1, "s", [1], {"counter": "x" * 1000}])},
        lambda: {"type": "rpc"},
        lambda: {"type": "rpc", "id": rng.choice([None, 1, [], {}]), "method": rng.choice([None, 1, "", "ping", "_private", "__init__", "add"]),
                 "args": rng.choice([None, "x", {}, [1, 2, 3], list(range(100))])},
        lambda: {"type": rng.choice(["", "x", "cf_agent_identity", "cf_agent_mcp_servers", 7]), "data": "x"},
        lambda: {"type": "rpc", "id": "s", "method": "count_to", "args": [rng.choice([-1, 0, 3, "3"])]},
    ]  # fmt: skip
    for _ in range(400):
        roll = rng.random()
        if roll < 0.25:
            yield rng.choice(junk)
        elif roll < 0.35:
            yield bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
        else:
            yield json.dumps(rng.choice(shapes)())


async def test_random_websocket_frames_never_crash_the_server_or_disturb_others(fuzz_api: str) -> None:
    name = f"fuzz-{uuid.uuid4().hex[:8]}"
    ws_url = f"{fuzz_api.replace('http', 'ws')}/agents/recorder-agent/{name}?token={TOKEN}"
    async with AgentClient(fuzz_api, "recorder-agent", name, token=TOKEN) as bystander:
        for seed in range(3):
            async with websockets.connect(ws_url) as fuzzer:
                for frame in _frames(random.Random(seed)):
                    await fuzzer.send(frame)
                # Still served: the fuzzing connection itself answers a real call.
                await fuzzer.send(json.dumps({"type": "rpc", "id": "last", "method": "ping", "args": []}))
                while True:
                    reply = json.loads(await asyncio.wait_for(fuzzer.recv(), 10))
                    if reply.get("id") == "last":
                        break
                assert reply == {"type": "rpc", "id": "last", "success": True, "result": "pong", "done": True}
        # The bystander is unaffected: calls work and a normal state change reaches it.
        assert await bystander.call("ping") == "pong"
        async with AgentClient(fuzz_api, "recorder-agent", name, token=TOKEN) as writer:
            await writer.set_state({"counter": 42})
        await eventually(polled(lambda: bystander.state), lambda s: s == {"counter": 42}, what="bystander update")
        assert bystander.connects == 1

