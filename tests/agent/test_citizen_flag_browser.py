"""A citizen flags an answer from the knowledge base on the web chat page in one click (and
an optional comment); the reviewers' queue shows it with the question and the answer.
Fixtures and helpers are those of ``test_browser.py``."""

from __future__ import annotations

from playwright.async_api import Browser, BrowserContext, expect

from bot.gateway.console.knowledge_services import KNOWLEDGE_CONSOLE
from tests.agent.fakes import GJJ_ANSWER, GJJ_ENTRY
from tests.agent.test_browser import citizen_says, open_page, pytestmark
from tests.support.agent import PASSWORD, Harness
from tests.support.console import login_in_browser

__all__ = ["pytestmark"]

QUESTION = "我想问一下公积金提取需要带什么材料"
PHONE = {"width": 390, "height": 844}


async def test_a_citizen_flags_an_answer_for_the_reviewers(
    assisted: Harness, browser: Browser, contexts: list[BrowserContext]
) -> None:
    problems: list[str] = []
    citizen = await open_page(browser, contexts, assisted.base + "/", problems, viewport=PHONE)
    await expect(citizen.locator("#connection-status")).to_have_text("已连接，请输入您的问题")
    await citizen_says(citizen, "你好")
    greeting = citizen.locator(".msg.bot").first
    await expect(greeting).to_have_text("您好！请问有什么可以帮您？")
    await citizen_says(citizen, QUESTION)
    answer = citizen.locator(".msg.bot").last
    await expect(answer).to_contain_text(GJJ_ANSWER)
    assert await greeting.locator(".flag").count() == 0  # only answers from the knowledge base

    await answer.locator("button.flag-open").click()
    await answer.locator("textarea.flag-comment").fill("现在还要带银行卡")
    await answer.locator("button.flag-send", has_text="信息已过时").click()
    await expect(answer.locator(".flag-done")).to_have_text("感谢反馈，我们会尽快核实。")
    (flag,) = assisted.app[KNOWLEDGE_CONSOLE].flags.open_flags()
    assert (flag.question, flag.answer, flag.record_id, flag.reporter) == (
        QUESTION,
        GJJ_ANSWER,
        GJJ_ENTRY,
        "citizen",
    )

    await citizen.reload()  # the page redrawn from the history offers the control again
    await expect(citizen.locator(".msg.bot").last.locator("button.flag-open")).to_be_visible()

    reviewer = await open_page(browser, contexts, "about:blank", problems)
    await login_in_browser(reviewer, assisted.base, "super1", PASSWORD, "/console/knowledge/flags")
    row = reviewer.locator("#kb-flag-list tbody tr").filter(has_text="现在还要带银行卡")
    await expect(row).to_contain_text(QUESTION)
    await expect(row).to_contain_text(GJJ_ANSWER)
    await expect(row).to_contain_text("信息过时")
    await expect(row).to_contain_text("市民")
    assert problems == []
