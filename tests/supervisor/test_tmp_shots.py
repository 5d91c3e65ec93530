import asyncio

from playwright.async_api import Page

from bot.gateway import keys
from tests.supervisor.test_console_browser import Server, _login, browser, page, server  # noqa: F401


async def test_shots(page: Page, server: Server) -> None:  # noqa: F811
    await asyncio.to_thread(server.app[keys.CLASSIFIER], "路灯坏了")
    await _login(page, server, "zhangsan", "/console/metrics")
    for name, size in (("desktop", (1366, 900)), ("phone", (390, 844))):
        await page.set_viewport_size({"width": size[0], "height": size[1]})
        await page.goto(server.url + "/console/metrics")
        await page.locator("#routing-model").screenshot(path=f"/tmp/shots/metrics-model-{name}.png")
        await page.screenshot(path=f"/tmp/shots/metrics-{name}.png", full_page=True)
        await page.goto(server.url + "/console/conversations")
        await page.locator("#conversation-list td.message a", has_text="经十路").click()
        await page.wait_for_url("**/console/conversations/*")
        await page.locator("li.turn.citizen details.correct-routing > summary").first.click()
        await page.screenshot(path=f"/tmp/shots/conversation-{name}.png", full_page=True)
        await page.locator("li.turn.citizen").first.screenshot(path=f"/tmp/shots/conversation-turn-{name}.png")
