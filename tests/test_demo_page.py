"""The demo page in a real browser: Playwright driving Debian's Chromium headless."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from agents import Settings
from devstack import free_port
from tests.conftest import serve_api

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@asynccontextmanager
async def demo_page(url: str, *, height: int = 800) -> AsyncIterator[Any]:
    """The demo page at `url` in chromium, connected; no script error on it by the end."""
    from playwright.async_api import async_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (apt-get install chromium)"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page(viewport={"width": 1280, "height": height})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            await page.goto(url)
            await page.wait_for_selector("#connection.open")
            yield page
        finally:
            await browser.close()
        assert errors == []


@pytest.mark.usefixtures("worker")
async def test_approve_from_the_page_and_watch_a_progress_bar_fill(
    api_server: str, agent_name: str, test_output: Path
) -> None:
    async with demo_page(f"{api_server}/?agent={agent_name}") as page:
        await page.click("[data-testid=start-approval]")
        waiting = page.locator('tr[data-status="waiting"]')
        await waiting.wait_for()
        await waiting.locator("input.reason").fill("looks good")
        await waiting.locator('button[data-action="approve"]').click()
        await page.locator('tr[data-status="complete"]').first.wait_for()
        assert await page.locator("tr[data-run-id]").count() == 1

        await page.fill('form[data-workflow="process_items"] input[name=count]', "5")
        await page.fill('form[data-workflow="process_items"] input[name=delay_ms]', "150")
        await page.click("[data-testid=start-process_items]")
        bar = page.locator('tr[data-status="running"] progress')
        await bar.first.wait_for()  # a live bar while it runs
        done = page.locator('tr[data-status="complete"] progress[value="1"]')
        await done.wait_for(timeout=30_000)
        assert "100%" in await page.locator('tr[data-status="complete"] td.progress').first.inner_text()
        await page.locator("[data-testid=state]", has_text='"task_progress": 1').wait_for()
        await page.screenshot(path=str(test_output / "demo-page.png"), full_page=True)


@pytest.mark.usefixtures("worker")
async def test_chat_from_the_page_streams_answers_and_approves_a_tool(
    api_server: str, agent_name: str, test_output: Path
) -> None:
    async with demo_page(f"{api_server}/?agent={agent_name}", height=900) as page:
        answers = page.locator('li[data-role="assistant"]')

        await page.fill("[data-testid=chat-input]", "hello browser")
        await page.click("[data-testid=chat-send]")
        await answers.filter(has_text="You said: hello browser").wait_for(timeout=15_000)

        await page.fill("[data-testid=chat-input]", "weather in Paris")
        await page.click("[data-testid=chat-send]")  # once the answer before has ended
        await answers.filter(has_text="It is sunny in Paris.").wait_for(timeout=15_000)

        await page.fill("[data-testid=chat-input]", "deploy to staging")
        await page.click("[data-testid=chat-send]")
        await page.locator('button[data-action="approve-tool"]').click(timeout=15_000)
        await answers.filter(has_text="Deployed.").wait_for(timeout=15_000)
        assert await page.locator('.chat-tool[data-state="output-available"]').count() == 2

        await page.reload()  # the transcript comes back from the server
        await page.wait_for_selector("#connection.open")
        await answers.filter(has_text="Deployed.").wait_for(timeout=15_000)
        assert await answers.count() == 3
        await page.screenshot(path=str(test_output / "demo-chat.png"), full_page=True)


async def test_with_auth_on_the_page_says_to_open_it_with_a_token(settings: Settings, test_output: Path) -> None:
    """With API_KEYS set, the page showed a red dot and nothing else (`?token=` was
    mentioned only in the README's Security section)."""
    from playwright.async_api import async_playwright

    port = free_port()
    keyed = settings.model_copy(update={"api_keys": {"k-123456": "control:*/* read:*/*"}})
    server, serving = await serve_api(keyed, port)
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                page = await browser.new_page()
                await page.goto(f"http://127.0.0.1:{port}/")
                await page.locator("#error", has_text="401: this API needs a key").wait_for(timeout=10_000)
                assert "/?token=" in await page.locator("#error").inner_text()
                await page.screenshot(path=str(test_output / "demo-401.png"))
                await page.goto(f"http://127.0.0.1:{port}/?token=k-123456")
                await page.wait_for_selector("#connection.open")
                assert await page.locator("#error").inner_text() == ""
            finally:
                await browser.close()
    finally:
        server.should_exit = True
        await serving
