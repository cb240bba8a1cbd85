"""What the framework relies on in libraries' private parts, checked by behaviour: an
upgrade that changes it fails here (`make deps-latest` runs these), not in production.
The sandbox runner and the WebSocket protocol have guards of their own
(test_sandbox_runner.py, test_server_protocol.py)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from redis.asyncio.cluster import ClusterPubSub, NodesManager, RedisCluster
from starlette.routing import Match
from temporalio import activity
from temporalio.exceptions import ApplicationError

from agents.http.starlette_internals import route_match, routed_scope
from workflows import temporal_internals
from workflows.versions import require_tested


@activity.defn(name="guards.probe")
async def probe_activity() -> None: ...


class _Group:
    @activity.defn(name="guards.member")
    async def member(self) -> None: ...


async def plain() -> None: ...


def test_activities_are_told_from_plain_callables() -> None:
    assert temporal_internals.is_activity(probe_activity) and temporal_internals.is_activity(_Group().member)
    assert not temporal_internals.is_activity(plain) and not temporal_internals.is_activity(lambda: None)
    assert temporal_internals.defines_activity(_Group.member) and not temporal_internals.defines_activity(plain)


def test_a_replay_mismatch_is_told_by_sdk_cores_code() -> None:
    # The code itself is exercised end to end by tests/test_redeploy.py (a real mismatch).
    assert temporal_internals.is_nondeterminism(ApplicationError("[TMPRL1100] Nondeterminism error: ..."))
    assert not temporal_internals.is_nondeterminism(ApplicationError("a failure of the workflow's own"))
    assert not temporal_internals.is_nondeterminism(None)


def test_the_sandbox_instance_class_is_what_the_runner_specialises() -> None:
    cls = temporal_internals.sandbox_instance_class()
    assert callable(getattr(cls, "_run_code", None)), "AgentsSandboxRunner overrides _Instance._run_code"


def test_a_route_claims_its_path_and_says_partial_for_another_method() -> None:
    app = FastAPI()

    @app.get("/agents/{agent}/{name}/state")
    async def state() -> None: ...

    route = next(r for r in app.router.routes if getattr(r, "path", "") == "/agents/{agent}/{name}/state")

    def scope(path: str, method: str) -> dict[str, object]:
        return {"type": "http", "path": path, "method": method, "root_path": "", "app": app}

    assert route_match(route, scope("/agents/a/b/state", "GET")) is Match.FULL
    assert route_match(route, scope("/agents/a/b/state", "POST")) is Match.PARTIAL
    assert route_match(route, scope("/elsewhere", "GET")) is Match.NONE
    routed = routed_scope({"type": "websocket"}, app=app, path_params={"agent": "a"})
    assert routed["app"] is app and routed["path_params"] == {"agent": "a"}


def test_the_cluster_pubsub_and_slot_map_members_the_hub_uses_exist() -> None:
    # Their behaviour (a failover re-homes the subscriptions) is tests/test_cluster.py's,
    # in the cluster pass of `make test`.
    client = RedisCluster(host="127.0.0.1", port=1, startup_nodes=None, require_full_coverage=False)
    pubsub = ClusterPubSub(client)
    assert isinstance(pubsub.node_pubsub_mapping, dict)
    assert isinstance(client.nodes_manager, NodesManager)
    assert callable(client.nodes_manager.initialize)


def test_an_untested_minor_is_refused_at_import_with_what_to_do() -> None:
    require_tested("temporalio", "1.35", relies_on="x")
    with pytest.raises(ImportError, match=r"temporalio 0\.1\.x, but 1\.35.* requirements/api\.lock"):
        require_tested("temporalio", "0.1", relies_on="x")
