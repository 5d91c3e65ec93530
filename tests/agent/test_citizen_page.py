"""The citizen's web chat page in a real browser (Debian's chromium, headless), on a phone.

The in-process gateway, fake Rasa and chromium of ``conftest.py``; the page helpers of
``test_browser.py``. Where a test needs the dialogue engine to hold a reply or to answer
with a given message, it wraps the gateway's engine (``_Engine``): waits end on events,
never on time.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, expect

from bot.clock import BEIJING
from bot.conversation import DialogueEngine
from bot.conversation.models import BotMessage, Button, EngineReply
from bot.gateway import keys
from tests.agent import test_browser
from tests.agent.test_browser import citizen_says, open_page
from tests.support.agent import (
    ALWAYS_OPEN,
    Agent,
    Harness,
    HarnessFactory,
    write_handoff_config,
)

pytestmark = test_browser.pytestmark  # skipped where Debian's chromium is missing

PHONE = {"width": 390, "height": 844}
ORDER_NO = "GD2026120200001"


@dataclass
class _Engine:
    """The gateway's dialogue engine, with replies held until released or scripted."""

    inner: DialogueEngine
    held: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    scripted: dict[str, tuple[BotMessage, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.held.set()

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> EngineReply:
        self.arrived.set()
        await self.held.wait()
        if text in self.scripted:
            return EngineReply(self.scripted[text])
        return await self.inner.send(conversation_id, text, metadata)


def _engine(harness: Harness) -> _Engine:
    service = harness.app[keys.CONVERSATIONS]
    engine = _Engine(service.engine)
    service.engine = engine
    return engine


async def _citizen_page(
    browser: Browser, contexts: list[BrowserContext], harness: Harness, problems: list[str]
) -> Page:
    page = await open_page(browser, contexts, harness.base + "/", problems, viewport=PHONE)
    await expect(page.locator("#connection-status")).to_have_text("已连接，请输入您的问题")
    return page


async def _agent_on_duty(harness: Harness) -> Agent:
    agent = await harness.agent("agent1")
    await agent.on_duty()
    return agent


async def test_history_and_header_survive_a_reload(
    assisted: Harness, browser: Browser, contexts: list[BrowserContext]
) -> None:
    problems: list[str] = []
    agent = await _agent_on_duty(assisted)
    citizen = await _citizen_page(browser, contexts, assisted, problems)
    await citizen_says(citizen, "我想问一下公积金提取需要带什么材料")
    await expect(citizen.locator(".msg.bot").last).to_contain_text("公积金")
    await citizen_says(citizen, "转人工")
    await expect(citizen.locator(".msg.bot").last).to_contain_text("正在为您转接人工客服")
    cid = await citizen.evaluate("localStorage.getItem('hotline12345.conversation_id')")
    status, _ = await agent.post(f"/api/v1/agent/conversations/{cid}/claim")
    assert status == 200
    said = f"您反映的问题已登记，工单号 {ORDER_NO}，请留意办理进度。"
    status, _ = await agent.post(f"/api/v1/agent/conversations/{cid}/messages", {"text": said})
    assert status == 200
    await expect(citizen.locator(".msg.agent").last).to_contain_text(ORDER_NO)
    before = await citizen.locator("#chat-log > li").all_inner_texts()

    await citizen.reload()
    await expect(citizen.locator(".msg.agent")).to_contain_text(ORDER_NO)
    await expect(citizen.locator(".msg.agent .who")).to_have_text("人工客服 话务员甲")
    await expect(citizen.locator("#connection-status")).to_have_text("人工客服正在为您服务")
    assert await citizen.locator("#chat-log > li").all_inner_texts() == before
    await expect(citizen.locator(".msg.me").first).to_have_text(
        "我想问一下公积金提取需要带什么材料"
    )
    # the queue's 取消排队 was answered by the agent joining: it cannot be pressed again
    await expect(citizen.get_by_role("button", name="取消排队")).to_be_disabled()

    status, _ = await agent.post(f"/api/v1/agent/conversations/{cid}/handback")
    assert status == 200
    await expect(citizen.locator(".msg.system").last).to_contain_text("智能助手继续为您服务")
    await citizen.reload()
    await expect(citizen.locator(".msg.system").last).to_contain_text("智能助手继续为您服务")
    await expect(citizen.locator("#connection-status")).to_have_text("已连接，请输入您的问题")
    assert problems == []


async def test_a_typing_indicator_while_the_reply_is_pending_and_one_greeting(
    gateway: Harness, browser: Browser, contexts: list[BrowserContext]
) -> None:
    problems: list[str] = []
    engine = _engine(gateway)
    citizen = await _citizen_page(browser, contexts, gateway, problems)
    typing = citizen.locator("#chat-log .typing")
    await expect(typing).to_have_count(0)
    engine.held.clear()
    await citizen_says(citizen, "你好")
    await asyncio.wait_for(engine.arrived.wait(), timeout=60)
    await expect(typing).to_be_visible()
    await expect(typing).to_have_attribute("aria-label", "智能助手正在输入")
    engine.held.set()
    await expect(citizen.locator(".msg.bot").last).to_have_text("您好！请问有什么可以帮您？")
    await expect(typing).to_have_count(0)
    # the page's welcome is no second greeting, and a reload does not repeat it
    await expect(citizen.locator("#chat-log > li", has_text="您好")).to_have_count(1)
    await citizen.reload()
    await expect(citizen.locator(".msg.bot")).to_have_count(1)
    await expect(citizen.locator("#chat-log > li", has_text="您好")).to_have_count(1)
    await expect(citizen.locator("#chat-log .welcome")).to_have_count(1)
    assert problems == []


async def test_sources_numbers_and_emergencies_are_usable_and_old_buttons_close(
    gateway: Harness, browser: Browser, contexts: list[BrowserContext]
) -> None:
    problems: list[str] = []
    engine = _engine(gateway)
    source = "https://std.samr.gov.cn/gb/search/gbDetailed?id=71F772D8055ED3A7E05397BE0A0AB82A"
    engine.scripted["政府热线服务规范"] = (
        BotMessage(
            f"《政府热线服务规范》（GB/T 33358-2016）是国家标准。（来源：{source}）"
            "如需人工服务，请拨打12345。",
            buttons=(Button("相关：政府热线服务评价", "/ask_standard"),),
        ),
    )
    citizen = await _citizen_page(browser, contexts, gateway, problems)
    await citizen_says(citizen, "政府热线服务规范")
    answer = citizen.locator(".msg.bot").last
    await expect(answer.locator("a").first).to_have_attribute("href", source)
    await expect(answer.locator("a").first).to_have_attribute("target", "_blank")
    await expect(answer.locator('a[href="tel:12345"]')).to_have_text("12345")
    related = citizen.get_by_role("button", name="相关：政府热线服务评价")
    await expect(related).to_be_enabled()

    await citizen_says(citizen, "我家楼下着火了，好多烟")
    emergency = citizen.locator(".msg.bot.emergency")
    await expect(emergency).to_contain_text("119")
    await expect(emergency).to_have_attribute("role", "alert")
    await expect(emergency.locator('a[href="tel:119"]')).to_have_text("119")
    await expect(emergency.locator('a[href="tel:12345"]')).to_have_count(0)  # not to wait on
    await expect(citizen.locator('.notice a[href="tel:110"]')).to_have_text("110")
    assert await emergency.evaluate("e => getComputedStyle(e).borderTopWidth") == "2px"
    # the earlier step's button was for a question no longer asked
    await expect(related).to_be_disabled()
    # numbers inside other numbers stay text: an order number, a phone, an area
    engine.scripted["我的工单"] = (BotMessage(f"{ORDER_NO}，联系电话13912345678，面积120平方米"),)
    await citizen_says(citizen, "我的工单")
    await expect(citizen.locator(".msg.bot").last).to_contain_text("平方米")
    assert await citizen.locator(".msg.bot").last.locator("a").count() == 0
    assert problems == []


async def test_full_width_punctuation_is_kept_as_typed(
    gateway: Harness, browser: Browser, contexts: list[BrowserContext]
) -> None:
    problems: list[str] = []
    citizen = await _citizen_page(browser, contexts, gateway, problems)
    typed = "请问：小区路灯（3号楼旁）不亮了，找谁修？谢谢！"
    await citizen_says(citizen, typed)
    await expect(citizen.locator(".msg.bot").last).to_contain_text("路灯")
    cid = await citizen.evaluate("localStorage.getItem('hotline12345.conversation_id')")
    rows = await gateway.app[keys.TRANSCRIPT].history(cid)
    assert [row["text"] for row in rows if row["role"] == "citizen"] == [typed]
    await citizen.reload()
    await expect(citizen.locator(".msg.me")).to_have_text(typed)
    assert re.search(r"[,?!:()]", await citizen.locator(".msg.me").inner_text()) is None
    assert problems == []


async def test_after_hours_wording(
    start_gateway: HarnessFactory,
    browser: Browser,
    contexts: list[BrowserContext],
    tmp_path: Path,
) -> None:
    today = datetime.now(BEIJING).date()
    config = write_handoff_config(
        tmp_path / "closed.yml", hours=ALWAYS_OPEN, closed_dates=[today.isoformat()]
    )
    gateway = await start_gateway(handoff_config=config)
    await _agent_on_duty(gateway)
    problems: list[str] = []
    citizen = await _citizen_page(browser, contexts, gateway, problems)
    await citizen_says(citizen, "转人工")
    reply = citizen.locator(".msg.bot").last
    await expect(reply).to_contain_text("现在不是在线人工服务时间")
    assert "不在在线" not in await reply.inner_text()
    assert problems == []
