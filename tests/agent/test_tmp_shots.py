import aiohttp
from playwright.async_api import Browser, BrowserContext, expect

from tests.agent.test_browser import browser, contexts, log_in_as_agent, open_page  # noqa: F401
from tests.support.agent import Harness


async def test_shots(assisted: Harness, browser: Browser, contexts: list[BrowserContext]) -> None:  # noqa: F811
    problems: list[str] = []
    agent = await open_page(browser, contexts, assisted.base + "/agent/", problems)
    await log_in_as_agent(agent, "agent1")
    asr = {"Authorization": "Bearer asr-secret-token"}
    async with aiohttp.ClientSession() as http:
        for path, body in (
            ("/api/v1/asr/calls", {"call_id": "pbx-7", "agent": "agent1", "caller": "13912345678"}),
            ("/api/v1/asr/calls/pbx-7/segments", {"speaker": "caller", "text": "我家小区门口的路灯坏了一个月了，晚上很黑，希望尽快修理，我电话13912345678"}),
            ("/api/v1/asr/calls", {"call_id": "pbx-8", "agent": "agent1", "caller": "13912345679"}),
            ("/api/v1/asr/calls/pbx-8/segments", {"speaker": "caller", "text": "你好，我想问一下那个事情怎么办"}),
        ):
            async with http.post(assisted.base + path, json=body, headers=asr) as response:
                assert response.status in (200, 201), await response.text()
    await expect(agent.locator("#classification dd").nth(1)).to_contain_text("济", timeout=90_000)
    for name, size in (("desktop", (1366, 900)), ("phone", (390, 844))):
        await agent.set_viewport_size({"width": size[0], "height": size[1]})
        await agent.wait_for_timeout(300)
        await agent.screenshot(path=f"/tmp/shots/agent-{name}.png", full_page=True)
        await agent.locator("#assist").screenshot(path=f"/tmp/shots/agent-assist-{name}.png")
    await agent.set_viewport_size({"width": 1366, "height": 900})
    await agent.locator("#call-list li").last.click()
    await agent.wait_for_timeout(3000)
    await agent.locator("#assist").screenshot(path="/tmp/shots/agent-assist-unsure-desktop.png")
