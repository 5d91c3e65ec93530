"""A gateway with console users, in-process, with Rasa pointed at a closed port; and for
the browser tests, Debian's chromium (headless) and a page to drive in it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page

from bot.gateway.app import create_app
from bot.settings import Settings
from tests.support.browser import chromium
from tests.support.console import Console, closed_port, seed_users


@pytest.fixture
def console_settings(settings: Settings) -> Settings:
    return settings.with_overrides(
        rasa_url=f"http://127.0.0.1:{closed_port()}", workorder_webhook_secret="console-webhook"
    )


@pytest.fixture
async def console(aiohttp_client, console_settings: Settings) -> Console:  # type: ignore[no-untyped-def]
    client = await aiohttp_client(create_app(console_settings))
    await seed_users(client)
    return Console(client)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt at N=2**10 instead of 2**15: same code path, a few ms per hash instead of 150."""
    monkeypatch.setattr("bot.accounts.passwords._N", 2**10)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(accept_downloads=True, locale="zh-CN")
    opened = await context.new_page()
    # A cap, not a pace: actions end as soon as the page is ready, so load only slows them.
    opened.set_default_timeout(60_000)
    yield opened
    await context.close()
