"""`AgentHttp`: typed helpers for an agent's HTTP workflow and state API."""

from __future__ import annotations

from typing import Any

import httpx

from agents.client._errors import AgentHttpError


class AgentHttp:
    """`AgentHttp("http://127.0.0.1:8000", "task-agent", "alice", token=...)`; pass `client=` to share one."""

    def __init__(
        self,
        base_url: str,
        agent: str,
        name: str,
        *,
        token: str | None = None,
        client: httpx.AsyncClient | None = None,
        prefix: str = "/agents",
    ) -> None:
        """`prefix`: the server's AGENTS_PREFIX."""
        self._base = f"{prefix.rstrip('/')}/{agent}/{name}"
        self._client = client or httpx.AsyncClient(base_url=base_url, timeout=30)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def aclose(self) -> None:
        """Close the HTTP client (also done by leaving `async with AgentHttp(...)`)."""
        await self._client.aclose()

    async def __aenter__(self) -> AgentHttp:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._client.request(method, self._base + path, headers=self._headers, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise AgentHttpError(response.status_code, body.get("error", "error"), body.get("message", response.text))
        return response.json() if response.content else None

    async def run_workflow(
        self,
        workflow: str,
        params: dict[str, Any] | None = None,
        *,
        id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Start a run of `workflow` (201); the run's row."""
        body = {"workflow": workflow, "params": params or {}, "id": id, "metadata": metadata}
        return await self._request("POST", "/workflows", json={k: v for k, v in body.items() if v is not None})

    async def create_batch(
        self,
        workflow: str,
        *,
        count: int | None = None,
        params: dict[str, Any] | None = None,
        instances: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Up to 100 runs in one call: `{created: [rows], errors: [{index, id, error, message}]}`."""
        body = {"workflow": workflow, "count": count, "params": params, "instances": instances}
        return await self._request("POST", "/workflows/batch", json={k: v for k, v in body.items() if v is not None})

    async def list_workflows(
        self,
        *,
        status: str | list[str] | None = None,
        workflow: str | None = None,
        metadata: dict[str, str] | None = None,
        limit: int = 50,
        order: str = "desc",
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """A page of this agent's runs: `{workflows, total, next_cursor}`."""
        params: dict[str, Any] = {"limit": limit, "order": order}
        if status:
            params["status"] = status if isinstance(status, str) else ",".join(status)
        if workflow:
            params["workflow"] = workflow
        if cursor:
            params["cursor"] = cursor
        params.update({f"metadata.{k}": v for k, v in (metadata or {}).items()})
        return await self._request("GET", "/workflows", params=params)

    async def get_workflow(self, workflow_id: str) -> dict[str, Any]:
        """One run's row (AgentHttpError 404 if unknown)."""
        return await self._request("GET", f"/workflows/{workflow_id}")

    async def update_metadata(
        self, workflow_id: str, metadata: dict[str, Any], *, replace: bool = False
    ) -> dict[str, Any]:
        """Merge `metadata` into a run's (a None value removes the key), or set exactly it
        with `replace=True`; the run's row afterwards."""
        body = {"metadata": metadata, "replace": replace}
        return await self._request("PATCH", f"/workflows/{workflow_id}", json=body)

    async def send_event(self, workflow_id: str, type: str, payload: Any = None) -> None:
        """Send an event of `type` to a run."""
        await self._request("POST", f"/workflows/{workflow_id}/events", json={"type": type, "payload": payload})

    async def approve(self, workflow_id: str, reason: str | None = None, metadata: Any = None) -> None:
        """Approve a run waiting for approval."""
        await self._request("POST", f"/workflows/{workflow_id}/approve", json={"reason": reason, "metadata": metadata})

    async def reject(self, workflow_id: str, reason: str | None = None) -> None:
        """Reject a run waiting for approval."""
        await self._request("POST", f"/workflows/{workflow_id}/reject", json={"reason": reason})

    async def pause(self, workflow_id: str) -> dict[str, Any]:
        """Pause a running or waiting run; its row afterwards."""
        return await self._request("POST", f"/workflows/{workflow_id}/pause")

    async def resume(self, workflow_id: str) -> dict[str, Any]:
        """Resume a paused run; its row afterwards."""
        return await self._request("POST", f"/workflows/{workflow_id}/resume")

    async def terminate(self, workflow_id: str, reason: str | None = None, *, rollback: bool = False) -> dict[str, Any]:
        """End a run now (with `rollback`, after its undos); its row afterwards."""
        body = {"reason": reason, "rollback": rollback}
        return await self._request("POST", f"/workflows/{workflow_id}/terminate", json=body)

    async def restart(
        self, workflow_id: str, *, reset_tracking: bool = True, from_step: str | None = None
    ) -> dict[str, Any]:
        """Run again from the start with the same params (`from_step`: keep the steps done
        before it); its row afterwards."""
        body = {"reset_tracking": reset_tracking, "from_step": from_step}
        return await self._request("POST", f"/workflows/{workflow_id}/restart", json=body)

    async def get_state(self) -> dict[str, Any]:
        """`{state, version}` of the agent."""
        return await self._request("GET", "/state")

    async def set_state(self, state: dict[str, Any]) -> dict[str, Any]:
        """Replace the agent's state; `{state, version}` afterwards."""
        return await self._request("PUT", "/state", json=state)

    async def merge_state(self, partial: dict[str, Any]) -> dict[str, Any]:
        """Shallow-merge `partial` into the agent's state; `{state, version}` afterwards."""
        return await self._request("PATCH", "/state", json=partial)

    async def call(self, method: str, *args: Any) -> Any:
        """Call a `@callable_method` of the agent (in its turn); its result."""
        return (await self._request("POST", f"/rpc/{method}", json={"args": list(args)}))["result"]

    async def get_messages(self) -> list[dict[str, Any]]:
        """A chat agent's conversation (AI SDK UI messages), oldest first."""
        return await self._request("GET", "/get-messages")

    async def approve_tool(self, tool_call_id: str, approved: bool = True) -> None:
        """Approve (or deny) a tool call a chat agent's turn waits for."""
        await self._request("POST", f"/chat/tool-calls/{tool_call_id}/{'approve' if approved else 'deny'}")

    async def cancel_chat(self) -> None:
        """Stop a chat agent's turn in progress (its partial answer is kept, marked aborted)."""
        await self._request("POST", "/chat/cancel")
