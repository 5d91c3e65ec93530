"""What a supervisor reads in the console, in a real browser (issue 12, items 11–13).

One conversation as the field trial had it (a greeting, then the matter, a button press,
the bot's own example address, a phone number read back) and a handful more for the
metrics: a fallback answer a form took up, one that failed, one handed to an agent, and
unanswered questions asked in several ways.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page
from sqlalchemy import select

from bot.console.nlu_export import load_corrections
from bot.console.tables import conversation_table
from bot.gateway import keys
from tests.support.browser import CHROMIUM
from tests.support.console import Server, login_in_browser, seed_reviewers, serving

PASSWORD = "review-pass-42"
PHONE = "13812345678"
MATTER = "我家门口路灯坏了，在历下区文化东路"
STANDARD_PAYLOAD = '/ask_standard{"standard_number": "GB/T 33358"}'
STANDARD_TITLE = "GB/T 33358 政务服务便民热线服务规范"
EXAMPLE = "请问具体地点在哪里？例如：历下区泉城路123号。"
SIMILAR = ("路灯坏了", "路灯坏了", "我家门口路灯坏了", "路灯坏了怎么办")
OTHERS = (
    "狗狗疫苗在哪打",
    "公积金怎么提取",
    "护照过期了",
    "驾照换证流程",
    "社保断缴补缴",
    "医保卡丢失",
    "暖气不热",
    "小区停车难",
    "孩子入学报名",
    "居住证续签",
)
SHOTS = Path("/tmp/shots")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


async def _seed(server: Server) -> None:
    app = server.app
    users = app[keys.ACCOUNTS].users
    await seed_reviewers(users, PASSWORD)
    store = app[keys.TRANSCRIPT]

    async def citizen(
        cid: str, said: str, intent: str, actions: tuple[str, ...] = (), **extra: Any
    ) -> None:
        row = await store.append(cid, "webchat", "citizen", said)
        nlu = {"intent": intent, "confidence": 0.9, "entities": [], "actions": list(actions)}
        await store.annotate(row, {"nlu": {**nlu, **extra}})

    async def bot(cid: str, text: str, status: str = "ok", **extra: Any) -> None:
        await store.append(cid, "webchat", "bot", text, {"status": status, "text": text, **extra})

    cid = "web-matter"
    await citizen(cid, "你好", "greet", ("utter_greet",))
    await bot(cid, "您好！请问有什么可以帮您？")
    location = [{"entity": "location", "value": v} for v in ("历下区", "文化东路")]
    await citizen(cid, MATTER, "complain", ("action_start_request",), entities=location)
    standard = {"title": STANDARD_TITLE, "payload": STANDARD_PAYLOAD}
    await bot(cid, EXAMPLE, buttons=[standard])
    await citizen(cid, STANDARD_PAYLOAD, "ask_standard", ("action_answer_knowledge",))
    await bot(cid, "现在不是在线人工服务时间，您可以留言。", "handoff_unavailable")
    await citizen(cid, "/handoff_note", "handoff_note")
    await bot(cid, "请直接输入您的留言内容。", "note_prompt")
    await citizen(cid, f"我的电话{PHONE}", "inform")
    await bot(cid, f"好的，已记录您的联系电话{PHONE}。")

    # a fallback answer the work-order form took up: the dialogue went on
    await citizen("web-form", "我要投诉油烟扰民", "complain", ("action_start_request",))
    await citizen(
        "web-form",
        "文化东路",
        "nlu_fallback",
        ("action_handle_unclear", "utter_default", "workorder_form", "action_ask_phone_number"),
    )
    for said in (*SIMILAR, *OTHERS):  # the assistant failed; nobody took over
        await citizen(
            "web-failed", said, "nlu_fallback", ("action_handle_unclear", "utter_default")
        )
    await citizen("web-agent", "没有路灯", "nlu_fallback", ("utter_default",))
    await store.append("web-agent", "webchat", "agent", "您好，我是话务员，请讲。")
    await citizen("web-solved", "公积金贷款额度是多少", "consult", ("action_answer_knowledge",))


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    async with serving(tmp_path_factory.mktemp("console-review")) as started:
        await _seed(started)
        yield started


async def _open_matter(page: Page, server: Server, username: str) -> None:
    engine = server.app[keys.CONSOLE].engine
    async with engine.connect() as conn:
        seq = await conn.scalar(
            select(conversation_table.c.seq).where(
                conversation_table.c.conversation_id == "web-matter"
            )
        )
    start = f"/console/conversations/{seq}"
    await login_in_browser(page, server.url, username, PASSWORD, start)


async def _select(page: Page, selector: str, needle: str) -> None:
    """Selects ``needle`` inside ``selector`` as a reviewer's mouse would."""
    found = await page.evaluate(
        """([selector, needle]) => {
          const root = document.querySelector(selector);
          const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
          while (walker.nextNode()) {
            const node = walker.currentNode;
            const at = node.data.indexOf(needle);
            if (at < 0) continue;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + needle.length);
            getSelection().removeAllRanges();
            getSelection().addRange(range);
            return true;
          }
          return false;
        }""",
        [selector, needle],
    )
    assert found, needle


async def test_button_presses_labels_and_entities_read_in_chinese(
    page: Page, server: Server
) -> None:
    """Item 11."""
    await _open_matter(page, server, "zhangsan")
    shown = await page.inner_text("main")
    assert STANDARD_TITLE in shown and "/ask_standard" not in shown and "/handoff_note" not in shown
    assert "点击按钮" in await page.locator("li.turn.citizen").nth(2).inner_text()
    assert "点击按钮留言" in (await page.locator("li.turn.citizen").nth(3).inner_text()).replace(
        "\n", ""
    )
    for label in ("人工暂不可用", "请市民留言", "网页", "问候", "投诉", "查询标准"):
        assert label in shown, label
    for identifier in (
        "handoff_unavailable",
        "note_prompt",
        "webchat",
        "complain",
        "ask_standard",
        "utter_greet",
        "action_",
    ):
        assert identifier not in shown, identifier
    matter = page.locator("li.turn.citizen").nth(1)
    assert await matter.locator(".entities").inner_text() == "地点=历下区；地点=文化东路"
    options = await matter.locator("select[name=intent] option").all_text_contents()
    assert "登记工单" in options and not any("_" in o for o in options)
    entity_types = await matter.locator("select[name=entity_0] option").all_text_contents()
    assert "知识条目" in entity_types and not any("_" in o for o in entity_types)


async def test_metrics_agree_and_unanswered_questions_are_grouped(
    page: Page, server: Server
) -> None:
    """Item 12: three rates on one base adding up to 100 %, each explained; the fallback a
    form took up is not a failure; similar questions counted together, ten to a page."""
    await page.set_viewport_size({"width": 1366, "height": 900})
    await login_in_browser(page, server.url, "zhangsan", PASSWORD, "/console/metrics")
    assert await page.inner_text("#kpi-conversations strong") == "5"
    solved = await page.inner_text("#kpi-solved strong")
    fallback = await page.inner_text("#kpi-fallback strong")
    handed_off = await page.inner_text("#kpi-handed-off strong")
    assert (solved, fallback, handed_off) == ("60.0%", "20.0%", "20.0%")

    await page.screenshot(path=str(SHOTS / "console-metrics.png"), full_page=True)
    await page.hover("#kpi-solved .hint")
    tip = page.locator("#kpi-solved .tip")
    await tip.wait_for(state="visible")
    assert "合计 100%" in await tip.inner_text()
    await page.hover("#kpi-fallback .hint")
    assert "表单" in await page.locator("#kpi-fallback .tip").inner_text()

    rows = page.locator("#unanswered tbody tr")
    assert await rows.count() == 10
    first = (await rows.first.inner_text()).split("\t")
    assert first[0] == "1" and first[1].startswith("路灯坏了") and first[-1] == "4"
    assert "相似问法 2 种" in first[1]
    assert "文化东路" not in await page.inner_text("#unanswered")  # the form took it up
    assert "第 1 / 2 页" in await page.inner_text("#unanswered .pager")
    await page.click("#unanswered a[rel=next]")
    await page.wait_for_url("**unanswered_page=2**")
    assert await rows.count() == 2  # 12 groups: 路灯, ten others, 没有路灯
    assert (await rows.first.inner_text()).startswith("11\t")


async def test_list_leads_with_the_matter_and_a_saved_correction_is_confirmed(
    page: Page, server: Server
) -> None:
    """Item 13: the list's first column, the bot's example not masked, the confirmation."""
    await login_in_browser(page, server.url, "zhangsan", PASSWORD, "/console/conversations")
    assert await page.inner_text("#conversation-list thead th >> nth=0") == "市民诉求"
    row = page.locator("#conversation-list tbody tr", has_text="文化东路").first
    assert await row.locator("td").first.inner_text() == MATTER

    await row.locator("td.message a").click()
    await page.wait_for_url("**/console/conversations/*")
    bot_turns = page.locator("li.turn.bot .text")
    assert EXAMPLE in await bot_turns.nth(1).inner_text()  # the bot's example, not masked
    read_back = await bot_turns.nth(4).inner_text()
    assert "138****5678" in read_back and PHONE not in await page.content()
    await page.set_viewport_size({"width": 1366, "height": 900})
    await page.screenshot(path=str(SHOTS / "console-conversation.png"), full_page=True)

    matter = page.locator("li.turn.citizen").nth(1)
    await matter.locator("details.correct-intent > summary").click()
    await matter.locator("select[name=intent]").select_option("report")
    await matter.locator("details.correct-intent button[type=submit]").click()
    await page.wait_for_url("**saved=*")
    saved = page.locator("li.turn.citizen").nth(1)
    assert "修正已保存" in await saved.locator(".saved").inner_text()
    assert "已修正为：举报" in await saved.locator(".correction").first.inner_text()


async def _copy_phone_into_correction(page: Page, shown: str) -> str:
    turn = "li.turn.citizen:nth-of-type(9)"  # 我的电话…
    await _select(page, f"{turn} .text", shown)
    await page.keyboard.press("Control+C")
    form = page.locator(turn).locator("details.correct-intent")
    await form.locator("summary").click()
    await form.locator("input[name=entity_text_0]").fill("")
    await page.keyboard.press("Control+V")
    return await form.locator("input[name=entity_text_0]").input_value()


async def test_copying_an_entity_gives_a_synthetic_or_the_real_value(
    page: Page, server: Server
) -> None:
    """Item 13: from a masked message the copy is a stand-in of the same shape (and the
    correction still finds the citizen's words); unmasked, it is the real number."""
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    await _open_matter(page, server, "zhangsan")
    assert await _copy_phone_into_correction(page, "138****5678") == "13800005678"
    form = page.locator("li.turn.citizen:nth-of-type(9) details.correct-intent")
    await form.locator("select[name=intent]").select_option("inform")
    await form.locator("select[name=entity_0]").select_option("phone_number")
    await form.locator("button[type=submit]").click()
    await page.wait_for_url("**saved=*")
    assert "电话号码：138****5678" in await page.inner_text("li.turn.citizen:nth-of-type(9)")
    stored = await load_corrections(server.app[keys.CONSOLE].engine)
    assert [c.entities[0]["text"] for c in stored if "我的电话" in c.text] == [PHONE]

    await page.context.clear_cookies()
    await _open_matter(page, server, "lisi")
    await page.click("#unmask-link")
    await page.wait_for_url("**unmask=1")
    assert await _copy_phone_into_correction(page, PHONE) == PHONE
