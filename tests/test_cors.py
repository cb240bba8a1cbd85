"""Browsers on another origin (issue 31, item 6): CORS_ORIGINS and CORS_CREDENTIALS. A
preflight is answered before authentication (it carries no token); every answer, errors
too, carries the headers a page on an allowed origin needs to read it; other origins get
none. And a page served from a second port calls the API in chromium."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from agents.core.settings import Settings
from devstack import free_port
from tests.conftest import serve_api
from tests.test_demo_page import CHROMIUM, FLAGS

KEY = "cors-test-key-0123456789"


async def _serve(app: object, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    return server, task


@pytest.fixture
async def page_origin() -> AsyncIterator[str]:
    """Where the browser's page comes from: a second server, so another origin."""
    port = free_port()

    async def page(_: object) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>other origin</title>")

    server, task = await _serve(Starlette(routes=[Route("/", page)]), port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def cors_api(settings: Settings, page_origin: str) -> AsyncIterator[str]:
    cors = settings.model_copy(
        update={"cors_origins": f"{page_origin}, https://app.example.com/", "api_keys": {KEY: "control:*/*"}}
    )
    port = free_port()
    server, task = await serve_api(cors, port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_preflight_and_answers_carry_cors_headers_for_allowed_origins_only(
    cors_api: str, agent_name: str
) -> None:
    state = f"/agents/recorder-agent/{agent_name}/state"
    async with httpx.AsyncClient(base_url=cors_api) as web:
        asked = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization,content-type"}
        preflight = await web.options(state, headers={"Origin": "https://app.example.com", **asked})
        assert preflight.status_code == 200  # no token needed: it carries none
        assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in preflight.headers
        refused = await web.options(state, headers={"Origin": "https://evil.example", **asked})
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        no_token = await web.get(state, headers={"Origin": "https://app.example.com"})
        assert no_token.status_code == 401  # the page can read why
        assert no_token.headers["access-control-allow-origin"] == "https://app.example.com"
        ok = await web.get(state, headers={"Origin": "https://app.example.com", "Authorization": f"Bearer {KEY}"})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "x-request-id" in ok.headers["access-control-expose-headers"].lower()
        other = await web.get(state, headers={"Origin": "https://evil.example", "Authorization": f"Bearer {KEY}"})
        assert "access-control-allow-origin" not in other.headers


def test_credentials_with_any_origin_are_refused_at_startup() -> None:
    with pytest.raises(ValidationError, match="needs the origins named"):
        Settings(cors_origins="*", cors_credentials=True)
    assert Settings(cors_origins="*").cors_origin_list == ["*"]


async def test_a_page_on_another_origin_calls_the_api_and_connects_in_chromium(
    cors_api: str, page_origin: str, agent_name: str
) -> None:
    from playwright.async_api import async_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (apt-get install chromium)"
    agent = f"agents/recorder-agent/{agent_name}"
    script = """async ([api, agent, key]) => {
        const headers = {"Authorization": `Bearer ${key}`, "Content-Type": "application/json"};
        const put = await fetch(`${api}/${agent}/state`, {method: "PUT", headers, body: '{"from": "page"}'});
        const socket = new WebSocket(`${api.replace("http", "ws")}/${agent}?token=${key}`);
        const first = await new Promise((ok, bad) => { socket.onmessage = (m) => ok(JSON.parse(m.data)); socket.onerror = bad; });
        socket.close();
        return {status: put.status, state: (await put.json()).state, frame: first.type};
    }"""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = await browser.new_page()
            await page.goto(page_origin)
            seen = await page.evaluate(script, [cors_api, agent, KEY])
        finally:
            await browser.close()
    assert seen["status"] == 200 and seen["state"] == {"from": "page"}
    assert seen["frame"].startswith("cf_agent_")  # the socket's first frame (identity or state)
