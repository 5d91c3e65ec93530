"""An agent flags a suggested answer as wrong in one click; the reviewers' queue gets it
with the question and the answer. Fixtures and helpers are those of ``test_browser.py``."""

from __future__ import annotations

from playwright.async_api import Browser, BrowserContext, expect

from bot.gateway.console.knowledge_services import KNOWLEDGE_CONSOLE
from bot.knowledge.editing.flags import Reason
from tests.agent.test_browser import pytestmark
from tests.agent.test_workspace_browser import conversation_with_agent
from tests.support.agent import Harness

__all__ = ["pytestmark"]


async def test_an_agent_flags_a_suggestion_for_the_reviewers(
    assisted: Harness, browser: Browser, contexts: list[BrowserContext]
) -> None:
    problems: list[str] = []
    agent, _, _ = await conversation_with_agent(
        assisted, browser, contexts, problems, ("公积金提取",)
    )
    suggestion = agent.locator("#suggestions li").first
    await expect(suggestion).to_contain_text("公积金", timeout=60_000)
    await suggestion.locator("input.flag-comment").fill("提取材料已经变了")
    await suggestion.locator("button.flag", has_text="答案有误").click()
    await expect(suggestion).to_contain_text("已反馈给知识库审核人员")
    (flag,) = assisted.app[KNOWLEDGE_CONSOLE].flags.open_flags()
    assert (flag.reason, flag.comment, flag.reporter) == (
        Reason.WRONG,
        "提取材料已经变了",
        "agent:agent1",
    )
    assert "公积金" in flag.question and flag.answer and flag.record_id
    assert problems == []
