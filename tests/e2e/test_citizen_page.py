"""The citizen's web chat page on a phone, in Debian's chromium, against the whole stack: what
the real Rasa and action server answer is what a citizen reads (department answers, related
standards, the work-order summary, looking orders up)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from bot.launcher import Stack
from tests.agent import conftest as agent_fixtures
from tests.agent import test_browser
from tests.agent.test_browser import citizen_says, open_page
from tests.dialogue.conversation import AGENT_ONLY

pytestmark = [pytest.mark.e2e, test_browser.pytestmark]

# The agent tests' chromium, shared rather than copied.
browser = agent_fixtures.browser
contexts = agent_fixtures.contexts

PHONE = {"width": 390, "height": 844}
COMPLAINT = "我要投诉：历下区文化东路88号楼下烧烤店油烟太大，天天熏得没法开窗！"
# Units a barbecue-smoke complaint has nothing to do with (the classifier ranks them far
# below the 城市管理局, at 1–11 %).
IMPLAUSIBLE = re.compile(r"应急管理局|消防|文化和旅游局|通信管理局|住房和城乡建设局|热力")


async def _phone_page(browser: Browser, contexts: list[BrowserContext], stack: Stack) -> Page:
    problems: list[str] = []
    page = await open_page(
        browser, contexts, stack.settings.gateway_url + "/", problems, viewport=PHONE
    )
    await expect(page.locator("#connection-status")).to_have_text("已连接，请输入您的问题")
    return page


async def _turn(page: Page, text: str) -> Locator:
    """Says ``text`` (or presses the open button of that title); the last reply to it."""
    button = page.locator(".buttons button:not([disabled])", has_text=text)
    if await button.count():
        await button.first.click()
    else:
        await citizen_says(page, text)
    await expect(page.locator("#chat-log .typing")).to_have_count(0)
    return page.locator(".msg.bot").last


async def test_citizens_read_who_handles_it_never_the_reasoning(
    default_stack: Stack, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = await _phone_page(browser, contexts, default_stack)
    answer = await _turn(page, "烧烤油烟扰民归哪个部门管")
    await expect(answer).to_contain_text("城市管理局")
    standard = await _turn(page, "GB/T 33358-2016")
    await expect(standard).to_contain_text("政府热线服务规范")
    # no vehicle-emission standard offered as "相关" to the hotline-service standard
    await expect(standard.locator(".buttons button", has_text="排放")).to_have_count(0)

    await _turn(page, COMPLAINT)
    for step in ("13912345678", "跳过", "同意", "不需要保密"):
        summary = await _turn(page, step)
    await expect(summary).to_contain_text("拟派承办单位：济南市城市管理局")
    units = await _turn(page, "修改承办单位")
    titles = await units.locator(".buttons button").all_inner_texts()
    assert titles[0].startswith("济南市城市管理局") and titles[-1] == "不确定，由工作人员判断"
    assert not [title for title in titles if IMPLAUSIBLE.search(title)], titles
    shown = await page.locator("#chat-log").inner_text()
    assert not AGENT_ONLY.search(shown), AGENT_ONLY.findall(shown)
    # an emergency Rasa recognises (not the gateway's rules) is an alert too, after a reload
    alarm = await _turn(page, "救命啊，快派人来，出大事了")
    await expect(alarm).to_have_class(re.compile(r"\bemergency\b"))
    await expect(alarm.locator('a[href="tel:110"]').first).to_have_text("110")
    await page.reload()
    await expect(page.locator(".msg.bot").last).to_have_class(re.compile(r"\bemergency\b"))


async def test_orders_by_phone_and_punctuation_as_typed(
    default_stack: Stack, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = await _phone_page(browser, contexts, default_stack)
    await _turn(page, COMPLAINT)
    for step in ("13912345678", "跳过", "同意", "不需要保密"):
        summary = await _turn(page, step)
    # the citizen's full-width punctuation, not NFKC's ASCII
    await expect(summary).to_contain_text(
        "诉求内容：历下区文化东路88号楼下烧烤店油烟太大，天天熏得没法开窗"
    )
    accepted = await _turn(page, "确认提交")
    await expect(accepted).to_contain_text(re.compile(r"(GD|SL)\d{13}"))
    number = re.search(r"(GD|SL)\d{13}", await accepted.inner_text())
    assert number is not None

    listed = await _turn(page, "麻烦查下手机13912345678登记过的工单")
    await expect(listed).to_contain_text("为您查到")
    await expect(listed).to_contain_text(number.group(0))
    await expect(page.locator(".msg.me").first).to_have_text(COMPLAINT)
