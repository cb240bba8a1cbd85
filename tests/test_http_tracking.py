"""Run tracking over HTTP: a conformance list like Cloudflare's own tracking tests."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from agents import AgentRuntime
from tests.helpers import eventually

pytestmark = pytest.mark.usefixtures("worker")


def base(agent_name: str, agent: str = "recorder-agent") -> str:
    return f"/agents/{agent}/{agent_name}/workflows"


async def start(http: httpx.AsyncClient, url: str, workflow: str = "merge_flow", **body: object) -> dict:
    response = await http.post(url, json={"workflow": workflow, "params": body.pop("params", {"key": "k"}), **body})
    assert response.status_code == 201, response.text
    return response.json()


async def until(http: httpx.AsyncClient, url: str, *statuses: str, timeout: float = 30) -> dict:
    async def row() -> dict:
        return (await http.get(url)).json()

    return await eventually(row, lambda r: r.get("status") in statuses, timeout=timeout, what=f"{url} in {statuses}")


async def test_insert_get_and_unknown_id(http: httpx.AsyncClient, agent_name: str) -> None:
    url = base(agent_name)
    created = await start(http, url, id="wf-one", metadata={"team": "a"})
    assert created["workflow_id"] == "wf-one"
    assert created["workflow_name"] == "merge_flow"
    assert created["status"] in ("queued", "running", "complete")
    assert created["metadata"] == {"team": "a"}
    assert created["temporal_workflow_id"] == f"recorder-agent/{agent_name}/wf-one"
    fetched = (await http.get(f"{url}/wf-one")).json()
    assert fetched["workflow_id"] == "wf-one" and fetched["created_at"] == created["created_at"]
    missing = await http.get(f"{url}/wf-nope")
    assert missing.status_code == 404
    assert missing.json() == {"error": "not_found", "message": f"no workflow 'wf-nope' for recorder-agent/{agent_name}"}


async def test_default_id_format_and_duplicate_id(http: httpx.AsyncClient, agent_name: str) -> None:
    url = base(agent_name)
    created = await start(http, url)
    assert re.fullmatch(r"wf_[0-9a-f]{24}", created["workflow_id"])
    await start(http, url, id="dup")
    again = await http.post(url, json={"workflow": "merge_flow", "params": {"key": "other"}, "id": "dup"})
    assert again.status_code == 409
    assert "already exists" in again.json()["message"]
    assert (await http.get(url)).json()["total"] == 2


async def test_invalid_params_unknown_workflow_and_agent(http: httpx.AsyncClient, agent_name: str) -> None:
    bad = await http.post(base(agent_name, "task-agent"), json={"workflow": "process_items", "params": {"items": 3}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["items"]
    unknown = await http.post(base(agent_name), json={"workflow": "nope", "params": {}})
    assert unknown.status_code == 404 and "unknown workflow 'nope'" in unknown.json()["message"]
    no_agent = await http.get(base(agent_name, "ghost-agent"))
    assert no_agent.status_code == 404
    bad_id = await http.post(
        base(agent_name), json={"workflow": "merge_flow", "params": {"key": "k"}, "id": "has space"}
    )
    assert bad_id.status_code == 422
    assert (await http.get(base(agent_name))).json()["total"] == 0


async def test_complete_error_and_queries_by_status_name_metadata_and_limit(
    http: httpx.AsyncClient, agent_name: str
) -> None:
    url = base(agent_name)
    ok = [await start(http, url, metadata={"team": "a" if i % 2 else "b", "n": i}) for i in range(4)]
    failed = await start(http, url, workflow="fail_flow", params={"why": "x"}, metadata={"team": "a"})
    for row in ok:
        assert (await until(http, f"{url}/{row['workflow_id']}", "complete"))["result"] == "ok"
    errored = await until(http, f"{url}/{failed['workflow_id']}", "errored")
    assert errored["error"] == {"name": "ValueError", "message": "boom: x"}
    assert errored["completed_at"] >= errored["created_at"]

    async def ids(query: str) -> tuple[set[str], int]:
        page = (await http.get(f"{url}?{query}")).json()
        return {w["workflow_id"] for w in page["workflows"]}, page["total"]

    assert await ids("status=complete") == ({r["workflow_id"] for r in ok}, 4)
    assert await ids("status=errored") == ({failed["workflow_id"]}, 1)
    assert await ids("status=complete&status=errored") == ({r["workflow_id"] for r in ok} | {failed["workflow_id"]}, 5)
    assert await ids("status=complete,errored") == ({r["workflow_id"] for r in ok} | {failed["workflow_id"]}, 5)
    assert await ids("workflow=fail_flow") == ({failed["workflow_id"]}, 1)
    assert await ids("metadata.team=a") == ({ok[1]["workflow_id"], ok[3]["workflow_id"], failed["workflow_id"]}, 3)
    assert await ids("metadata.team=a&status=complete") == ({ok[1]["workflow_id"], ok[3]["workflow_id"]}, 2)
    assert await ids("metadata.n=2") == ({ok[2]["workflow_id"]}, 1)
    limited = (await http.get(f"{url}?limit=2")).json()
    assert len(limited["workflows"]) == 2 and limited["total"] == 5 and limited["next_cursor"]
    bad_status = await http.get(f"{url}?status=sleeping")
    assert bad_status.status_code == 422 and "unknown status 'sleeping'" in bad_status.json()["message"]


async def _seed(runtime: AgentRuntime, agent_name: str, count: int, **kwargs: object) -> list[str]:
    """Tracked rows written directly (no Temporal run), for pagination tests."""
    from agents.store.tracking import WorkflowInfo

    agent = runtime.agent("recorder-agent", agent_name)
    ids = []
    for i in range(count):
        rid = f"r{i:03d}"
        status = kwargs.get("status_of", lambda _: "complete")(i)  # type: ignore[operator]
        await runtime.tracker.create(
            agent.keys,
            WorkflowInfo(
                workflow_id=rid,
                temporal_workflow_id=f"x/{rid}",
                workflow_name="merge_flow",
                status=status,
                created_at=1_700_000_000_000 + (i // 3),  # ties on purpose: the id breaks them
            ),
        )
        ids.append(rid)
    return ids


async def test_three_page_walk_has_no_overlap_and_ends_with_null_cursor(
    http: httpx.AsyncClient, runtime: AgentRuntime, agent_name: str
) -> None:
    ids = await _seed(runtime, agent_name, 25)
    url = base(agent_name)
    for order, expected in (("desc", ids[::-1]), ("asc", ids)):
        seen, cursor, pages = [], None, 0
        while True:
            query = f"?limit=10&order={order}" + (f"&cursor={cursor}" if cursor else "")
            page = (await http.get(url + query)).json()
            assert page["total"] == 25
            seen += [w["workflow_id"] for w in page["workflows"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == 3
        assert seen == expected  # (created_at, id) order, no overlap, nothing missed


async def test_status_filter_with_pagination(http: httpx.AsyncClient, runtime: AgentRuntime, agent_name: str) -> None:
    ids = await _seed(runtime, agent_name, 30, status_of=lambda i: "errored" if i % 3 == 0 else "complete")
    url = base(agent_name)
    first = (await http.get(f"{url}?status=errored&limit=4&order=asc")).json()
    second = (await http.get(f"{url}?status=errored&limit=4&order=asc&cursor={first['next_cursor']}")).json()
    third = (await http.get(f"{url}?status=errored&limit=4&order=asc&cursor={second['next_cursor']}")).json()
    walked = [w["workflow_id"] for p in (first, second, third) for w in p["workflows"]]
    assert walked == [i for n, i in enumerate(ids) if n % 3 == 0]
    assert first["total"] == 10 and third["next_cursor"] is None


@pytest.mark.parametrize(
    ("cursor", "why"),
    [
        ("%%%not-base64", "not valid base64"),
        (base64.urlsafe_b64encode(b"not json").decode(), "does not decode to JSON"),
        (base64.urlsafe_b64encode(b'{"x": 1}').decode(), "wrong shape"),
        (base64.urlsafe_b64encode(b'["a"]').decode(), "wrong shape"),
    ],
)
async def test_bad_cursors_are_clear_errors(http: httpx.AsyncClient, agent_name: str, cursor: str, why: str) -> None:
    response = await http.get(base(agent_name), params={"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_cursor" and why in response.json()["message"]


async def test_a_delete_with_temporal_also_removes_the_run_from_temporal(
    http: httpx.AsyncClient, client: Client, agent_name: str
) -> None:
    """`DELETE …/workflows/{id}?temporal=true`: the run's executions leave Temporal's
    history and visibility (a running one is terminated first). A closed execution goes
    too, in the background: the dev server took about half a minute, so this waits on a
    running one."""
    url = base(agent_name)
    run = await start(http, url, workflow="approval", id="gone", params={"title": "t"})
    await until(http, f"{url}/gone", "waiting")
    query = f'WorkflowId = "{run["temporal_workflow_id"]}"'

    async def executions() -> list[Any]:
        return [e async for e in client.list_workflows(query)]

    await eventually(executions, lambda found: len(found) == 1, what="the execution listed")
    assert (await http.delete(f"{url}/gone?temporal=true")).json() == {"deleted": 1}
    assert (await http.get(f"{url}/gone")).status_code == 404
    with pytest.raises(RPCError):
        await client.get_workflow_handle(run["temporal_workflow_id"]).describe()
    await eventually(executions, lambda found: found == [], what="no execution left in Temporal's lists")
    assert (await http.delete(f"{url}/gone?temporal=true")).status_code == 404


async def test_delete_one_and_by_criteria(http: httpx.AsyncClient, runtime: AgentRuntime, agent_name: str) -> None:
    await _seed(runtime, agent_name, 12, status_of=lambda i: "errored" if i < 4 else "complete")
    url = base(agent_name)
    assert (await http.delete(f"{url}/r005")).json() == {"deleted": 1}
    assert (await http.delete(f"{url}/r005")).status_code == 404
    assert (await http.get(f"{url}/r005")).status_code == 404
    assert (await http.delete(f"{url}?status=errored")).json() == {"deleted": 4}
    # created_before is exclusive: r004 (..001) and r006..r008 (..002) go, r009.. (..003) stay
    assert (await http.delete(f"{url}?created_before=1700000000003")).json() == {"deleted": 4}
    remaining = (await http.get(f"{url}?order=asc")).json()
    assert [w["workflow_id"] for w in remaining["workflows"]] == ["r009", "r010", "r011"]
    assert remaining["total"] == 3


async def test_metadata_updated_moves_the_run_between_filters_and_delete_finds_it(
    http: httpx.AsyncClient, runtime: AgentRuntime, agent_name: str
) -> None:
    url = base(agent_name)
    run = await start(http, url, id="wf-meta", metadata={"team": "a", "n": 1})

    async def ids(query: str) -> set[str]:
        return {w["workflow_id"] for w in (await http.get(f"{url}?{query}")).json()["workflows"]}

    merged = await http.patch(f"{url}/wf-meta", json={"metadata": {"team": "b", "n": None, "stage": "review"}})
    assert merged.status_code == 200 and merged.json()["metadata"] == {"team": "b", "stage": "review"}
    assert (await ids("metadata.team=a"), await ids("metadata.n=1")) == (set(), set())
    assert await ids("metadata.team=b&metadata.stage=review") == {run["workflow_id"]}
    agent = runtime.agent("recorder-agent", agent_name)
    updates = [agent.update_workflow_metadata("wf-meta", {f"k{i}": i}) for i in range(10)]
    await asyncio.gather(*updates)  # concurrent merges: none lost, every index right
    merged_all = (await agent.require_workflow("wf-meta")).metadata
    assert merged_all == {"team": "b", "stage": "review", **{f"k{i}": i for i in range(10)}}
    assert await ids("metadata.k7=7") == {run["workflow_id"]}
    info = await agent.update_workflow_metadata("wf-meta", {"only": True}, replace=True)
    assert info.metadata == {"only": True} and await ids("metadata.k3=3") == set()
    assert await ids("metadata.only=true") == {run["workflow_id"]}
    for bad in ({"metadata": []}, {"metadata": {"x": 1}, "extra": 1}):
        assert (await http.patch(f"{url}/wf-meta", json=bad)).status_code == 422
    assert (await http.patch(f"{url}/wf-none", json={"metadata": {}})).status_code == 404
    assert (await http.delete(f"{url}?metadata.only=true")).json() == {"deleted": 1}
    assert await ids("metadata.only=true") == set()


async def test_a_batch_starts_each_run_it_can_and_says_why_not_for_the_others(
    http: httpx.AsyncClient, runtime: AgentRuntime, agent_name: str
) -> None:
    """Cloudflare's createBatch: `instances` (each its own id and params) or `count`."""
    url = base(agent_name)
    await start(http, url, id="taken")
    instances = [
        {"id": "b-1", "params": {"key": "k"}, "metadata": {"batch": "one"}},
        {"id": "taken", "params": {"key": "k"}},  # an id already tracked
        {"params": ["not", "an", "object"]},  # params the workflow's model refuses
        {"id": "b-4", "params": {"key": "k"}, "colour": "red"},  # a field an instance does not have
        {"params": {"key": "k"}},
    ]
    answer = await http.post(f"{url}/batch", json={"workflow": "merge_flow", "instances": instances})
    assert answer.status_code == 200, answer.text
    batch = answer.json()
    assert [row["workflow_id"] for row in batch["created"]][0] == "b-1" and len(batch["created"]) == 2
    assert [(e["index"], e["id"], e["error"]) for e in batch["errors"]] == [
        (1, "taken", "conflict"),
        (2, None, "invalid"),
        (3, "b-4", "invalid"),
    ]
    assert "params" in batch["errors"][1]["message"] and "colour" in batch["errors"][2]["message"]
    counted = await http.post(f"{url}/batch", json={"workflow": "merge_flow", "count": 3, "params": {"key": "c"}})
    assert len(counted.json()["created"]) == 3 and counted.json()["errors"] == []
    agent = runtime.agent("recorder-agent", agent_name)
    assert (await agent.get_workflows(metadata={"batch": "one"})).total == 1
    before = (await agent.get_workflows()).total
    for bad, status in [
        ({"workflow": "merge_flow"}, 422),  # neither count nor instances
        ({"workflow": "merge_flow", "count": 101}, 422),
        ({"workflow": "merge_flow", "count": 2, "instances": [{}]}, 422),
        ({"workflow": "merge_flow", "instances": []}, 422),
        ({"workflow": "no_such_flow", "count": 1}, 404),
    ]:
        assert (await http.post(f"{url}/batch", json=bad)).status_code == status, bad
    assert (await agent.get_workflows()).total == before  # refused batches started nothing


async def test_unknown_params_are_refused_naming_the_field_unless_the_model_allows_them(
    http: httpx.AsyncClient, agent_name: str
) -> None:
    """The params model ignored unknown fields: a misspelled param was dropped silently,
    while the README promised 422."""
    typo = await http.post(
        base(agent_name),
        json={"workflow": "retry_flow", "params": {"key": "k", "fail_times": 0, "retries": {}, "timout": "1 s"}},
    )
    assert typo.status_code == 422, typo.text
    assert "unknown field 'timout'" in typo.json()["message"] and "extra='ignore'" in typo.json()["message"]
    assert typo.json()["errors"] == [
        {"type": "extra_forbidden", "loc": ["timout"], "msg": "Extra inputs are not permitted"}
    ]
    assert (await http.get(base(agent_name))).json()["total"] == 0  # nothing started
    lenient = await start(http, base(agent_name), workflow="lenient_flow", params={"key": "k", "extra": 1})
    assert (await until(http, f"{base(agent_name)}/{lenient['workflow_id']}", "complete"))["result"] == "k"


async def test_a_json_body_sent_without_its_content_type_gets_the_fix(http: httpx.AsyncClient, agent_name: str) -> None:
    """It answered "Input should be a valid dictionary", with no hint. (Not read as JSON
    anyway: a page in a browser can send such bodies cross-site without a preflight.)"""
    body = b'{"workflow": "merge_flow", "params": {"key": "k"}, "id": "plain"}'
    for content_type, came in (("", "no content-type"), ("application/x-www-form-urlencoded", "application/x-www")):
        sent = await http.post(base(agent_name), content=body, headers={"content-type": content_type})
        assert sent.status_code == 422, sent.text
        assert "send it as JSON with the header content-type: application/json" in sent.json()["message"]
        assert came in sent.json()["message"]
    assert (await http.get(base(agent_name))).json()["total"] == 0
