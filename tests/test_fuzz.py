"""Fuzzing: schemathesis drives every operation of the OpenAPI schema with generated
(valid and invalid) input against a real API process; the WebSocket gets random and
malformed frames. Nothing may answer 500, break its own schema, or crash the server,
and a well-behaved client on the same agent must not notice."""

from __future__ import annotations

import asyncio
import functools
import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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
    settings = Settings(
        temporal_address=temporal_address,
        redis_url=valkey.url,
        agent_modules=TEST_MODULES,
        task_queue=f"fuzz-{uuid.uuid4().hex[:8]}",
    )
    log = tmp_path_factory.mktemp("fuzz") / "api.log"
    proc = start_entry_point(
        "api.py", settings, log, API_PORT=str(port), WEB_ROOT="", API_KEYS=json.dumps({TOKEN: "control:*/*"})
    )
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
    assert len(operations) >= 20  # every route of the HTTP API
    poisoned_sent: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy(), data=st.data())
        @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case, data: st.DataObject) -> None:
            if case.path_parameters and "agent" in case.path_parameters:
                # Aim at a registered agent type, or nearly every case stops at the 404
                # for an unknown type (covered in test_limits) and reaches nothing deeper.
                case.path_parameters["agent"] = "recorder-agent"
            if isinstance(case.body, dict):
                poisoned = data.draw(_hostile(case.body))
                if poisoned is not case.body:
                    poisoned_sent.append(_send_poisoned(case, poisoned))
                    return
            case.call_and_validate(
                base_url=fuzz_api,
                headers=AUTH,
                checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
            )

        fuzz()
    # The API's own count of what it answered, by status: proof the fuzzing reached it,
    # and that invalid input was refused with 4xx rather than accepted or crashing.
    answered = _answered_by_status(httpx.get(f"{fuzz_api}/metrics", headers=AUTH).text)
    print(
        "fuzzed",
        len(operations),
        "operations; answers by status:",
        answered,
        "; hostile bodies (deep nesting, lone surrogates):",
        len(poisoned_sent),
    )
    assert len(poisoned_sent) >= 20, poisoned_sent
    assert sum(answered.values()) >= 10 * len(operations), answered
    assert answered.get("422", 0) > 0 and not any(status.startswith("5") for status in answered), answered


def _hostile(body: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The body as generated, or with a hostile value put somewhere in it: nesting past
    the limit, or a lone surrogate in a key or a string. Schemathesis generates only valid
    Unicode and shallow values by itself."""
    deep = st.integers(65, 1200).map(lambda n: functools.reduce(lambda v, _: [v], range(n), "x"))
    surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
    value = st.one_of(deep, surrogate.map(lambda c: f"a{c}"))  # (the client will not send 1e999: test_hostile does)
    targets = [None, *(key for key, v in body.items() if isinstance(v, dict))]

    def poison(target: Any, key: str, hostile: Any, as_key: bool) -> dict[str, Any]:
        out = json.loads(json.dumps(body))
        where = out if target is None else out[target]
        if as_key and isinstance(hostile, str):
            where[hostile] = 1
        else:
            where[key] = hostile
        return out

    poisoned = st.builds(poison, st.sampled_from(targets), st.sampled_from(["x", *body]), value, st.booleans())
    return st.one_of(st.just(body), poisoned)


def _send_poisoned(case: schemathesis.Case, body: dict[str, Any]) -> int:
    """Sent as JSON text with `\\ud800` escapes (schemathesis cannot encode a lone surrogate
    itself): a clear 4xx with a JSON error, never a 5xx."""
    request = case.as_transport_kwargs(base_url=case.operation.base_url, headers=AUTH)
    request.pop("json", None)
    response = httpx.request(
        request.pop("method"),
        request.pop("url"),
        params=request.get("params"),
        headers={**request.get("headers", {}), "content-type": "application/json"},
        content=json.dumps(body),
        timeout=30,
    )
    assert 400 <= response.status_code < 500, (case.operation.label, response.status_code, response.text[:300])
    assert response.json()["error"], response.text[:300]
    return response.status_code


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
    junk = ["", "{", "}", "null", "[]", "1", '"x"', '{"type":', "\x00\x01", "💥" * 50, "[" * 500 + "]" * 500]
    shapes = [
        lambda: {"type": "cf_agent_state"},
        lambda: {"type": "cf_agent_state", "state": rng.choice([None, 1, "s", [1], {"counter": "x" * 1000}])},
        lambda: {"type": "rpc"},
        lambda: {
            "type": "rpc",
            "id": rng.choice([None, 1, [], {}]),
            "method": rng.choice([None, 1, "", "ping", "_private", "__init__", "add"]),
            "args": rng.choice([None, "x", {}, [1, 2, 3], list(range(100))]),
        },
        lambda: {"type": rng.choice(["", "x", "cf_agent_identity", "cf_agent_mcp_servers", 7]), "data": "x"},
        lambda: {"type": "rpc", "id": "s", "method": "count_to", "args": [rng.choice([-1, 0, 3, "3"])]},
    ]
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
