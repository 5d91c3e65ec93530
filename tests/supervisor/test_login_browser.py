"""The login page in Debian's chromium: one answer for every refused login, and a
confirmation after logging out."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page

from bot.accounts.store import MAX_FAILED_LOGINS
from bot.gateway.app import create_app
from bot.settings import Settings
from tests.support.browser import CHROMIUM
from tests.support.console import PASSWORD, login_in_browser, seed_users

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


@pytest.fixture
async def base(aiohttp_client: Any, console_settings: Settings) -> str:
    client = await aiohttp_client(create_app(console_settings))
    await seed_users(client)
    return str(client.make_url("")).rstrip("/")


async def _refused(page: Page, base: str, username: str, password: str) -> str:
    await page.goto(base + "/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    return await page.locator("[role=alert]").inner_text()


async def test_refused_logins_read_the_same_and_logout_is_confirmed(page: Page, base: str) -> None:
    wrong = await _refused(page, base, "super1", "wrong-password-1")
    unknown = await _refused(page, base, "nobody", "wrong-password-1")
    for _ in range(MAX_FAILED_LOGINS):
        await _refused(page, base, "agent1", "wrong-password-2")
    locked = await _refused(page, base, "agent1", PASSWORD)
    assert wrong == unknown == locked
    assert wrong.startswith("用户名或密码不正确")
    assert not any(ch.isdigit() for ch in wrong)  # neither attempts left nor minutes to wait

    await login_in_browser(page, base, "super1", PASSWORD, "/console/conversations")
    async with page.expect_navigation():
        await page.click("button:has-text('退出登录')")
    assert "/login" in page.url
    assert await page.locator("[role=status]").inner_text() == "已退出登录。"
    await page.goto(base + "/console/conversations")  # the session is really gone
    assert "/login" in page.url
    assert await page.locator("[role=status]").count() == 0
