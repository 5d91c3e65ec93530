"""The agent workspace as an agent at a hotline centre uses it, in Debian's chromium.

Each test is one defect found in a field trial (issue 12, items 6–10): times, views that
outlive their conversation, 留言, drafts and suggestions, titles, duty outside hours and
work orders submitted twice. Fixtures and page helpers are those of ``test_browser.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, expect

from bot.clock import beijing_time
from bot.gateway import keys
from bot.knowledge.models import KnowledgePoint
from tests.agent.test_browser import (
    citizen_says,
    go_on_duty,
    log_in_as_agent,
    open_page,
    pytestmark,
)
from tests.support.agent import (
    POINTS,
    Harness,
    HarnessFactory,
    order_in_service,
    small_knowledge_base,
    write_handoff_config,
)

__all__ = ["pytestmark"]

GAS_LEAK = KnowledgePoint(
    id="kp:gas-leak",
    title="燃气泄漏应急处置",
    content="闻到燃气味道时，立即关闭燃气阀门，打开门窗通风，不要开关电器，"
    "到室外拨打燃气抢修电话或119。",
    category="安全/燃气",
    issuer="济南港华燃气有限公司",
    department="济南港华燃气有限公司",
    keywords=("燃气", "泄漏", "煤气"),
)
ADDRESS = "历下区文化东路幸福小区3号楼2单元502"
SMOKE = "我要投诉，楼下烧烤店每天晚上油烟太大了，味道呛得没法开窗"


async def conversation_with_agent(
    harness: Harness,
    browser: Browser,
    contexts: list[BrowserContext],
    problems: list[str],
    says: tuple[str, ...] = (),
    **agent_options: Any,
) -> tuple[Page, Page, str]:
    """A citizen who said ``says`` and asked for a human, claimed by 话务员甲."""
    agent = await open_page(browser, contexts, harness.base + "/agent/", problems, **agent_options)
    await log_in_as_agent(agent, "agent1")
    await go_on_duty(agent)
    citizen = await open_page(browser, contexts, harness.base + "/", problems)
    await expect(citizen.locator("#connection-status")).to_have_text("已连接，请输入您的问题")
    for text in says:
        await citizen_says(citizen, text)
        await expect(citizen.locator(".msg.me").last).to_contain_text(text)
    await citizen_says(citizen, "转人工")
    await expect(citizen.locator(".msg.bot").last).to_contain_text("正在为您转接人工客服")
    conversation_id = await citizen.evaluate("localStorage.getItem('hotline12345.conversation_id')")
    await agent.locator(f'#queue-list li[data-conversation-id="{conversation_id}"]').click()
    await agent.click("#claim-button")
    await expect(agent.locator("#conv-state")).to_contain_text("人工服务中")
    return agent, citizen, conversation_id


async def test_times_are_beijing_time_before_and_after_claiming(
    assisted: Harness, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """An agent's computer on another zone: earlier rows (loaded) and live rows show the
    Beijing clock of the stored moment, the same one."""
    problems: list[str] = []
    agent, citizen, conversation_id = await conversation_with_agent(
        assisted, browser, contexts, problems, ("公积金提取",), timezone_id="America/New_York"
    )
    await citizen_says(citizen, "路灯坏了")
    await expect(agent.locator("#transcript li.citizen").last).to_contain_text("路灯坏了")
    rows = await assisted.app[keys.TRANSCRIPT].history(conversation_id)
    # A knowledge answer's flag mark is a bot row without words: the view leaves it out.
    expected = [
        beijing_time(row["created_at"])[11:16]
        for row in rows
        if row["role"] != "system" and (row["text"] or row["role"] != "bot")
    ]
    stamps_shown = agent.locator("#transcript li:not(.system) > .who:first-child")
    # Live rows reach the view after the turn (a background delivery): wait for all of them.
    await expect(stamps_shown).to_have_count(len(expected))
    shown = [text.rsplit(" · ", 1)[1] for text in await stamps_shown.all_inner_texts()]
    assert shown == expected
    answer = await agent.evaluate(
        "async (path) => (await fetch(path, {headers: {Accept: 'application/json'}})).json()",
        f"/api/v1/agent/conversations/{conversation_id}",
    )
    stamps = [row["created_at"] for row in answer["rows"]] + [answer["handoff"]["claimed_at"]]
    assert all(stamp.endswith("+08:00") for stamp in stamps), stamps
    assert problems == []


async def test_the_view_closes_when_the_conversation_leaves_the_agent(
    assisted: Harness, browser: Browser, contexts: list[BrowserContext]
) -> None:
    problems: list[str] = []
    agent, citizen, _ = await conversation_with_agent(assisted, browser, contexts, problems)
    await agent.click("#handback-button")
    await expect(agent.locator("#placeholder")).to_have_text(re.compile("会话已交还智能助手"))
    await expect(agent.locator("#conversation")).to_be_hidden()
    await expect(agent.locator("#mine-list")).to_contain_text("暂无接待中的会话")

    await citizen_says(citizen, "转人工")
    await expect(citizen.locator(".msg.bot").last).to_contain_text("正在为您转接人工客服")
    await agent.locator("#queue-list li[data-conversation-id]").first.click()
    await agent.click("#claim-button")
    await expect(agent.locator("#conv-state")).to_contain_text("人工服务中")
    await agent.click("#close-button")
    await expect(agent.locator("#placeholder")).to_have_text(re.compile("会话已结束"))
    await expect(agent.locator("#conversation")).to_be_hidden()
    await expect(agent.get_by_text("您无权查看该会话")).to_have_count(0)
    assert problems == []


async def test_a_note_opens_its_conversation_and_stays_listed_once_answered(
    assisted: Harness, browser: Browser, contexts: list[BrowserContext]
) -> None:
    problems: list[str] = []
    service = assisted.app[keys.HANDOFF].service
    conversation_id = "note-conversation-1"
    await service.store.ensure(conversation_id, "webchat")
    await assisted.app[keys.TRANSCRIPT].append(
        conversation_id, "webchat", "citizen", "我们小区的垃圾三天没人清运了"
    )
    note = await service.notes.leave(conversation_id, "webchat", "请尽快安排清运，谢谢")
    agent = await open_page(browser, contexts, assisted.base + "/agent/", problems)
    await log_in_as_agent(agent, "agent1")

    item = agent.locator(f'#note-list li[data-note-id="{note.id}"]')
    await item.locator(".summary").click()
    await expect(agent.locator("#conv-title")).to_have_text(
        "我们小区的垃圾三天没人清运了 · 网页会话"
    )
    await expect(agent.locator("#transcript li.citizen")).to_contain_text("垃圾三天没人清运")

    reply = "您好，已通知物业今天清运，感谢您的反映。"
    await item.locator("input").fill(reply)
    await item.locator("button").click()
    await expect(agent.locator("#note-result")).to_contain_text(f"已发送给市民：“{reply}”")
    answered = agent.locator(f'#answered-note-list li[data-note-id="{note.id}"]')
    await expect(answered).to_contain_text("已回复")
    await expect(answered).to_contain_text(f"话务员甲回复：{reply}")
    await expect(agent.locator(f'#note-list li[data-note-id="{note.id}"]')).to_have_count(0)
    await expect(agent.locator("#transcript li.agent")).to_contain_text(reply)
    assert problems == []


async def smoke_complaint(
    start_gateway: HarnessFactory,
    workorder_service: tuple[str, str],
    browser: Browser,
    contexts: list[BrowserContext],
    problems: list[str],
) -> tuple[Harness, Page, str]:
    """Barbecue smoke told with a phone number, a name, an address and a "好的", claimed;
    the knowledge base also holds a gas-leak procedure that shares words with it."""
    url, token = workorder_service
    harness = await start_gateway(
        knowledge=small_knowledge_base([*POINTS, GAS_LEAK]),
        workorder_url=url,
        workorder_api_token=token,
    )
    agent, _, conversation_id = await conversation_with_agent(
        harness,
        browser,
        contexts,
        problems,
        ("我的电话是13812345678，我姓王", "好的", f"地址是{ADDRESS}", SMOKE),
    )
    return harness, agent, conversation_id


async def submit_draft(agent: Page) -> str:
    await agent.click("#draft-submit")
    result = agent.locator("#draft-result")
    await expect(result).to_contain_text(re.compile(r"工单号 GD\d{13}"))
    number = re.search(r"GD\d{13}", await result.inner_text())
    assert number is not None
    return number.group(0)


async def test_a_draft_is_ready_to_submit_unchanged_and_suggestions_are_relevant(
    start_gateway: HarnessFactory,
    workorder_service: tuple[str, str],
    token_secret: str,
    browser: Browser,
    contexts: list[BrowserContext],
) -> None:
    """The matter once, no "好的", the contact details in their fields and out of the
    content, the full address, 投诉; no gas-leak procedure offered for barbecue smoke."""
    problems: list[str] = []
    _, agent, _ = await smoke_complaint(
        start_gateway, workorder_service, browser, contexts, problems
    )
    draft = agent.locator("#draft")
    content = "市民反映：楼下烧烤店每天晚上油烟太大了，味道呛得没法开窗（地点：" + ADDRESS + "）。"
    await expect(draft.locator("textarea[name=content]")).to_have_value(content)
    await expect(draft.locator("input[name=phone]")).to_have_value("13812345678")
    await expect(draft.locator("input[name=name]")).to_have_value("王")
    await expect(draft.locator("input[name=address]")).to_have_value(ADDRESS)
    await expect(draft.locator("select[name=request_type]")).to_have_value("投诉")
    await expect(agent.locator("#suggestions")).to_contain_text("知识库中没有找到相关答案")
    await expect(agent.locator("#suggestions")).not_to_contain_text("燃气")

    order = await order_in_service(workorder_service, token_secret, await submit_draft(agent))
    assert (order["content"], order["request_type"]) == (content, "投诉")
    assert problems == []


async def test_a_conversation_is_titled_by_its_matter_and_an_order_logged_once(
    start_gateway: HarnessFactory,
    workorder_service: tuple[str, str],
    browser: Browser,
    contexts: list[BrowserContext],
) -> None:
    problems: list[str] = []
    harness, agent, conversation_id = await smoke_complaint(
        start_gateway, workorder_service, browser, contexts, problems
    )
    await expect(agent.locator("#conv-title")).to_have_text(
        "楼下烧烤店每天晚上油烟太大了 · 网页会话"
    )
    await expect(agent.locator("#draft textarea[name=content]")).to_have_value(re.compile("烧烤"))
    number = await submit_draft(agent)
    await agent.click("#draft-submit")
    await expect(agent.locator("#draft-result")).to_contain_text("无需重复提交")
    rows = await harness.app[keys.TRANSCRIPT].history(conversation_id)
    logged = [row["text"] for row in rows if (row["data"] or {}).get("event") == "workorder"]
    assert logged == [f"话务员甲登记工单 {number}"]
    await expect(agent.locator("#transcript li.system", has_text="登记工单")).to_have_count(1)
    assert problems == []


async def test_going_on_duty_outside_service_hours_warns(
    start_gateway: HarnessFactory, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    closed = write_handoff_config(
        tmp_path / "closed.yml", hours={"working_days": [], "rest_days": []}
    )
    harness = await start_gateway(handoff_config=closed)
    problems: list[str] = []
    agent = await open_page(browser, contexts, harness.base + "/agent/", problems)
    await log_in_as_agent(agent, "agent1")
    await expect(agent.locator("#duty-warning")).to_be_hidden()
    await go_on_duty(agent)
    await expect(agent.locator("#duty-warning")).to_have_text(
        re.compile("现在不是在线人工服务时间.*市民暂时无法转人工")
    )
    assert problems == []
