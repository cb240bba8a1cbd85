"""Demo activity: one HTTP GET, failing in a way the step's retry policy understands."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from temporalio import activity

from activities import ActivityGroup
from workflows import NonRetryableError


@dataclass
class HttpCallInput:
    url: str
    timeout_s: float = 10.0


class HttpActivities(ActivityGroup):
    @activity.defn(name="demo.http_get")
    async def http_get(self, input: HttpCallInput) -> dict[str, object]:
        """5xx and network errors raise (the step retries); 4xx fails at once."""
        async with httpx.AsyncClient(timeout=input.timeout_s, follow_redirects=True) as client:
            response = await client.get(input.url)
        if response.status_code >= 500:
            raise RuntimeError(f"{input.url} answered {response.status_code}")
        if response.status_code >= 400:
            raise NonRetryableError(f"{input.url} answered {response.status_code}", type="HttpClientError")
        return {
            "status": response.status_code,
            "attempt": activity.info().attempt,
            "body": response.text[:2000],
        }
