"""The knowledge console in a real browser, and the bot's answers following it.

An editor writes a knowledge point and submits it, a second person publishes it, and the
action server's answer (a separate knowledge base, as on another replica) uses the new text
as soon as that replica has swapped in the new revision; an edit replaces the text the same
way, and after a withdrawal the bot stops using it. Screenshots go to /tmp/shots/kb-*.png.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.knowledge as knowledge_actions
from actions.knowledge import ActionAnswerKnowledge
from bot.accounts import Role
from bot.gateway import keys
from bot.gateway.app import create_app
from bot.knowledge.embedder import load_embedder
from bot.knowledge.runtime import LazyKnowledgeBase
from bot.knowledge.store import KnowledgeStore
from bot.settings import Settings
from tests.support.browser import CHROMIUM
from tests.support.console import closed_port, login_in_browser

PASSWORD = "browser-pass-42"
SHOTS = Path("/tmp/shots")
QUESTION = "共享书房借阅卡怎么申领"
FIRST = "可在“泉城书房”小程序在线申领借阅卡，凭身份证免押金，每次最多借5本。"
SECOND = "现改为在“城市书房”App申领借阅卡，凭身份证免押金，每次最多借8本。"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


@dataclass
class Replicas:
    url: str
    settings: Settings
    gateway: web.Application
    action_server: LazyKnowledgeBase


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[Replicas]:
    settings = Settings().with_overrides(
        var_dir=tmp_path / "var",
        rasa_url=f"http://127.0.0.1:{closed_port()}",
        rasa_token="browser-test",
    )
    embedder = await asyncio.to_thread(load_embedder, settings)
    action_server = LazyKnowledgeBase(settings, embedder=embedder)
    await action_server.get()  # seeds the starter corpus, like a fresh deployment
    app = create_app(settings)
    app[keys.KNOWLEDGE] = LazyKnowledgeBase(settings, embedder=embedder)
    runner = web.AppRunner(app)
    await runner.setup()
    port = closed_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    users = app[keys.ACCOUNTS].users
    await users.create("wangbian", PASSWORD, Role.EDITOR, display_name="王编辑")
    await users.create("zhaoshen", PASSWORD, Role.REVIEWER, display_name="赵审核")
    yield Replicas(f"http://127.0.0.1:{port}", settings, app, action_server)
    action_server.close()
    await runner.cleanup()


async def _bot_answer(monkeypatch: pytest.MonkeyPatch, replicas: Replicas) -> str:
    """What the action server answers (its own knowledge base), once it has the revision."""
    store = KnowledgeStore.from_settings(replicas.settings)
    try:
        revision = store.revision()
    finally:
        store.close()
    started = time.perf_counter()
    swapped = await asyncio.to_thread(replicas.action_server.wait_for_revision, revision, 120)
    assert swapped, "the action server never loaded the published revision"
    print(
        f"revision {revision} live on the other replica after {time.perf_counter() - started:.2f} s"
    )
    monkeypatch.setattr(knowledge_actions, "knowledge", lambda: replicas.action_server)
    tracker = Tracker(
        sender_id="kb-browser",
        slots={},
        latest_message={"text": QUESTION, "intent": {"name": "consult", "confidence": 0.9}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()
    await ActionAnswerKnowledge().run(dispatcher, tracker, {})
    return "\n".join(str(m.get("text") or m.get("response") or "") for m in dispatcher.messages)


async def _shot(page: Page, name: str) -> None:
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"kb-{name}.png"), full_page=True)


async def _reviewer_publishes(reviewer: Page, url: str) -> None:
    await reviewer.goto(url)
    assert "待审核" in await reviewer.inner_text("#kb-state")
    await reviewer.click("#kb-publish")
    await reviewer.wait_for_load_state()
    assert "已发布" in await reviewer.inner_text("#kb-state")


async def test_edit_review_publish_answer_withdraw(
    browser: Browser, page: Page, replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    await page.set_viewport_size({"width": 1366, "height": 900})
    await login_in_browser(page, replicas.url, "wangbian", PASSWORD, "/console/knowledge")
    await _shot(page, "home")
    before = await _bot_answer(monkeypatch, replicas)
    assert "泉城书房" not in before

    await page.click("text=新建知识点")
    await page.fill("input[name=title]", QUESTION)
    await page.fill("textarea[name=content]", FIRST)
    await page.fill("input[name=category]", "文化/图书馆")
    await page.fill("input[name=department]", "市文化和旅游局")
    await page.fill("input[name=prov_document]", "市图书馆借阅服务指南")
    await _shot(page, "new")
    await page.click("text=保存为草稿")
    await page.wait_for_url("**/console/knowledge/record?*")
    record_url = page.url.split("&done=")[0]
    assert await page.locator("#kb-publish").count() == 0  # an editor cannot publish
    await page.click("#kb-submit")
    await page.wait_for_load_state()
    assert "待审核" in await page.inner_text("#kb-state")

    context = await browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    reviewer = await context.new_page()
    reviewer.set_default_timeout(60_000)
    await login_in_browser(reviewer, replicas.url, "zhaoshen", PASSWORD, "/console/knowledge")
    await _reviewer_publishes(reviewer, record_url)
    first = await _bot_answer(monkeypatch, replicas)
    assert "泉城书房" in first and "据知识库记载" in first

    await page.goto(record_url)
    await page.fill("textarea[name=content]", SECOND)
    await page.fill("input[name=note]", "借阅卡改在城市书房App申领")
    await page.click("#kb-save")
    await page.wait_for_load_state()
    await page.click("#kb-submit")
    await page.wait_for_load_state()
    await reviewer.goto(record_url)
    await _shot(reviewer, "review")
    await _reviewer_publishes(reviewer, record_url)
    second = await _bot_answer(monkeypatch, replicas)
    assert "城市书房" in second and "泉城书房" not in second
    await reviewer.locator("#kb-history").scroll_into_view_if_needed()
    await _shot(reviewer, "history")

    await reviewer.fill("form[action$=withdraw] input[name=note]", "试点结束")
    await reviewer.click("#kb-withdraw")
    await reviewer.wait_for_load_state()
    assert "已撤回" in await reviewer.inner_text("#kb-state")
    after = await _bot_answer(monkeypatch, replicas)
    assert "城市书房" not in after and "泉城书房" not in after

    flag = {"reason": "outdated", "question": QUESTION, "answer": first, "comment": "已改名"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(replicas.url + "/api/v1/knowledge/flags", json=flag) as posted,
    ):
        assert posted.status == 201
    await reviewer.goto(replicas.url + "/console/knowledge/flags")
    assert "已改名" in await reviewer.inner_text("#kb-flag-list")
    await _shot(reviewer, "flags")
    await reviewer.goto(replicas.url + "/console/knowledge/import")
    await _shot(reviewer, "import")
    await reviewer.goto(replicas.url + "/console/knowledge?unverified=1")
    await _shot(reviewer, "unverified")
    await context.close()
