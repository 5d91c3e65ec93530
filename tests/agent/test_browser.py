"""Real browsers on both sides: Debian's chromium, headless, driven by Playwright.

The gateway runs in this process on a real port with the fake Rasa of ``fakes.py`` (the
real Rasa is covered by the e2e suite), a small real knowledge base, and the project's
reference work-order service on its own port. The citizen uses the web chat page, the
agent the workspace page, each in its own browser context (own cookies and storage).
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.support.agent import PASSWORD, Harness, order_in_service
from tests.support.browser import CHROMIUM

# The longest any wait may take before the test gives up: waits end as soon as the page
# shows what is expected, so a loaded machine makes the suite slower, never red.
TIMEOUT_MS = 60_000
expect.set_options(timeout=TIMEOUT_MS)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium not installed")


async def open_page(
    browser: Browser,
    contexts: list[BrowserContext],
    url: str,
    problems: list[str],
    **options: Any,
) -> Page:
    """A page in its own context; ``options`` go to the context (viewport, time zone …)."""
    context = await browser.new_context(locale="zh-CN", **options)
    contexts.append(context)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    await page.goto(url)
    return page


async def log_in_as_agent(page: Page, username: str) -> None:
    await expect(page).to_have_url(re.compile(r"/login\?next=/agent/"))
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(re.compile(r"/agent/$"))
    await expect(page.locator("#live-status")).to_have_text("实时连接正常")


async def go_on_duty(agent: Page) -> None:
    """One click, then wait for the server's answer: a status refresh that lands between the
    click and the server's confirmation redraws the box, so its checked state is no proof."""
    await agent.locator("#duty-toggle").click()
    await expect(agent.locator("#duty-label")).to_have_text("接待中")


async def citizen_says(page: Page, text: str) -> None:
    await page.fill("#chat-input", text)
    await page.click("#send-button")


async def test_citizen_to_agent_and_back_to_the_bot(
    assisted: Harness, browser: Browser, contexts: list[BrowserContext]
) -> None:
    problems: list[str] = []
    agent = await open_page(browser, contexts, assisted.base + "/agent/", problems)
    await log_in_as_agent(agent, "agent1")
    await go_on_duty(agent)

    citizen = await open_page(browser, contexts, assisted.base + "/", problems)
    await expect(citizen.locator("#connection-status")).to_have_text("已连接，请输入您的问题")
    await citizen_says(citizen, "我想问一下公积金提取需要带什么材料")
    await expect(citizen.locator(".msg.bot").last).to_contain_text("公积金")
    await citizen_says(citizen, "转人工")
    await expect(citizen.locator(".msg.bot").last).to_contain_text("正在为您转接人工客服")
    conversation_id = await citizen.evaluate("localStorage.getItem('hotline12345.conversation_id')")

    queued = agent.locator(f'#queue-list li[data-conversation-id="{conversation_id}"]')
    await expect(queued).to_contain_text("公积金")
    await queued.click()
    await agent.click("#claim-button")
    await expect(citizen.locator(".msg.system").last).to_contain_text("话务员甲已接入")
    await expect(citizen.locator("#connection-status")).to_have_text("人工客服正在为您服务")

    suggestion = agent.locator("#suggestions li").first
    await expect(suggestion).to_contain_text("身份证")
    await expect(suggestion.locator(".source")).to_contain_text("住房公积金提取办理")
    await suggestion.locator("button.insert").click()
    reply = agent.locator("#reply-text")
    await expect(reply).to_have_value(re.compile("身份证"))
    await reply.press("End")
    await reply.type("如有其他问题请随时告诉我。")
    edited = await reply.input_value()
    await agent.click("#send-button")

    from_agent = citizen.locator(".msg.agent").last
    await expect(from_agent).to_contain_text("如有其他问题请随时告诉我。")
    await expect(from_agent.locator(".who")).to_have_text("人工客服 话务员甲")
    assert (await from_agent.inner_text()).endswith(edited)
    await expect(agent.locator("#transcript li.agent").last).to_contain_text("修改后采用推荐答案")

    await agent.click("#handback-button")
    await expect(citizen.locator(".msg.system").last).to_contain_text("智能助手继续为您服务")
    await citizen_says(citizen, "你好")
    await expect(citizen.locator(".msg.bot").last).to_have_text("您好！请问有什么可以帮您？")
    assert problems == []


async def test_phone_call_transcript_becomes_a_work_order(
    assisted: Harness,
    browser: Browser,
    contexts: list[BrowserContext],
    workorder_service: tuple[str, str],
    token_secret: str,
) -> None:
    problems: list[str] = []
    agent = await open_page(browser, contexts, assisted.base + "/agent/", problems)
    await log_in_as_agent(agent, "agent1")
    asr = {"Authorization": "Bearer asr-secret-token"}

    async def post(path: str, body: dict[str, Any]) -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.post(assisted.base + path, json=body, headers=asr) as response,
        ):
            assert response.status in (200, 201), await response.text()

    await post(
        "/api/v1/asr/calls", {"call_id": "pbx-42", "agent": "agent1", "caller": "13912345678"}
    )
    await expect(agent.locator("#conv-title")).to_have_text("来电 13912345678")
    segments = "/api/v1/asr/calls/pbx-42/segments"
    await post(segments, {"speaker": "agent", "text": "您好，12345热线，请讲。"})
    await post(
        segments, {"speaker": "caller", "text": "我要投诉，历城区幸福花园5号楼", "final": False}
    )
    await expect(agent.locator("#partial")).to_contain_text("识别中")
    await post(
        segments,
        {"speaker": "caller", "text": "我要投诉，历城区幸福花园5号楼旁边的路灯坏了一个星期了"},
    )
    await expect(agent.locator("#transcript li.citizen")).to_contain_text("路灯坏了")

    draft = agent.locator("#draft")
    await expect(draft.locator("textarea[name=content]")).to_have_value(re.compile("路灯"))
    await expect(draft.locator("input[name=phone]")).to_have_value("13912345678")
    await expect(draft.locator("input[name=address]")).to_have_value("历城区幸福花园5号楼")
    await expect(draft.locator("select[name=request_type]")).to_have_value("投诉")
    await expect(agent.locator("#suggestions li").first).to_contain_text("路灯")
    await draft.locator("input[name=name]").fill("李女士")
    await agent.click("#draft-submit")
    result = agent.locator("#draft-result")
    await expect(result).to_contain_text(re.compile(r"工单号 GD\d{13}"))
    number = re.search(r"GD\d{13}", await result.inner_text())
    assert number is not None
    order = await order_in_service(workorder_service, token_secret, number.group(0))
    assert "路灯" in order["content"] and order["request_type"] == "投诉"
    await agent.click("#end-call-button")
    await expect(agent.locator("#conv-state")).to_have_text("通话已结束")
    assert problems == []


async def test_script_in_a_citizen_message_never_runs(
    assisted: Harness, browser: Browser, contexts: list[BrowserContext]
) -> None:
    problems: list[str] = []
    agent = await open_page(browser, contexts, assisted.base + "/agent/", problems)
    await log_in_as_agent(agent, "agent1")
    await go_on_duty(agent)
    citizen = await open_page(browser, contexts, assisted.base + "/", problems)
    await expect(citizen.locator("#connection-status")).to_have_text("已连接，请输入您的问题")
    await citizen_says(citizen, "转人工")
    await expect(citizen.locator(".msg.bot").last).to_contain_text("正在为您转接人工客服")
    attacks = [
        "<script>window.__pwned = 'script'; alert('script')</script>",
        "<img src=x onerror=\"window.__pwned = 'img'; alert('img')\">",
    ]
    for attack in attacks:
        await citizen_says(citizen, attack)
        await expect(citizen.locator(".msg.bot").last).to_contain_text("排在第1位")

    conversation_id = await citizen.evaluate("localStorage.getItem('hotline12345.conversation_id')")
    await agent.locator(f'#queue-list li[data-conversation-id="{conversation_id}"]').click()
    await agent.click("#claim-button")
    shown = agent.locator("#transcript li.citizen .text")
    await expect(shown.nth(1)).to_have_text(attacks[0])
    await expect(shown.nth(2)).to_have_text(attacks[1])
    await agent.fill("#reply-text", attacks[1])  # an agent's text is escaped for the citizen too
    await agent.click("#send-button")
    await expect(citizen.locator(".msg.agent").last).to_contain_text("onerror")
    for page in (agent, citizen):
        assert await page.evaluate("window.__pwned === undefined")
        assert await page.locator("#transcript img, .chat-log img").count() == 0
    assert problems == []


async def test_agent_sees_why_a_unit_is_proposed(
    assisted: Harness, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """The explanation is plain Chinese an agent can check: similar past cases and where they
    went, the catalogue matter, how sure the model is; no ids, scores or JSON."""
    problems: list[str] = []
    agent = await open_page(browser, contexts, assisted.base + "/agent/", problems)
    await log_in_as_agent(agent, "agent1")
    asr = {"Authorization": "Bearer asr-secret-token"}
    async with aiohttp.ClientSession() as http:
        for path, body in (
            ("/api/v1/asr/calls", {"call_id": "pbx-7", "agent": "agent1", "caller": "13912345678"}),
            (
                "/api/v1/asr/calls/pbx-7/segments",
                {
                    "speaker": "caller",
                    "text": "我家小区门口的路灯坏了一个月了，晚上很黑，希望尽快修理",
                },
            ),
        ):
            async with http.post(assisted.base + path, json=body, headers=asr) as response:
                assert response.status in (200, 201), await response.text()

    explanation = agent.locator("#classification")
    # The first classification loads the model and the word lists: seconds on a busy machine.
    await expect(explanation.locator("dd").nth(1)).to_contain_text(
        "济南市城市管理局", timeout=90_000
    )
    await expect(explanation.locator("dt").first).to_have_text("诉求类型")
    await expect(explanation).to_contain_text("路灯不亮、路灯损坏")
    await expect(explanation).to_contain_text(re.compile("把握(很大|较大|一般|较小)"))
    cases = explanation.locator(".cases li")
    assert await cases.count() >= 1
    await expect(cases.first.locator(".outcome")).to_contain_text(re.compile("相似）$"))
    shown = await explanation.inner_text()
    for raw in ("urban_management", "{", "confidence", "0."):
        assert raw not in shown, raw
    assert problems == []
