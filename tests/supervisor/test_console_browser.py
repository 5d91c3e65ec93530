"""The console in a real browser (Debian's chromium, headless) against an in-process gateway.

A supervisor filters to low-confidence conversations, opens one, corrects the intent and
entities, exports the NLU YAML and Rasa validates it merged with ``data/nlu``. Personal
data never reaches the page's HTML without the unmask permission; a citizen's script
never runs.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Page

from bot.gateway import keys
from bot.settings import PROJECT_ROOT
from tests.support.browser import CHROMIUM
from tests.support.console import Server, login_in_browser, seed_reviewers, serving

RASA = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
PASSWORD = "browser-pass-42"
PHONE = "13812345678"
ID_NUMBER = "370102199003071238"
SECRETS = (PHONE, ID_NUMBER, "12345号", "501室")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


async def _seed(app: web.Application) -> None:
    users = app[keys.ACCOUNTS].users
    await seed_reviewers(users, PASSWORD)
    store = app[keys.TRANSCRIPT]

    async def turn(cid: str, channel: str, said: str, intent: str, conf: float) -> None:
        row = await store.append(cid, channel, "citizen", said)
        nlu = {"intent": intent, "confidence": conf, "entities": [], "actions": []}
        if intent == "nlu_fallback":
            nlu["actions"] = ["utter_default"]
        await store.annotate(row, {"nlu": nlu})
        reply = "抱歉，我没有完全理解您的意思。" if conf < 0.45 else "好的，已为您记录。"
        await store.append(cid, channel, "bot", reply, {"status": "ok"})

    await turn(
        "wx-lamp",
        "wechat",
        f"经十路12345号门口的路灯坏了，我电话{PHONE}，住阳光小区3号楼2单元501室",
        "nlu_fallback",
        0.32,
    )
    await turn("web-std", "webchat", "GB/T 33358是什么标准", "ask_standard", 0.97)
    await turn(
        "web-id", "webchat", f"我的身份证{ID_NUMBER}办居住证要什么材料", "ask_materials", 0.91
    )
    await turn(
        "web-xss",
        "webchat",
        '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">噪音扰民',
        "complain",
        0.52,
    )


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    async with serving(tmp_path_factory.mktemp("console-browser")) as started:
        await _seed(started.app)
        yield started


async def _login(page: Page, server: Server, username: str, start: str) -> None:
    await login_in_browser(page, server.url, username, PASSWORD, start)


async def _assert_no_personal_data(page: Page) -> None:
    html = await page.content()
    for secret in SECRETS:
        assert secret not in html, (secret, page.url)


async def test_review_correct_export_and_rasa_validates(
    page: Page, server: Server, tmp_path: Path
) -> None:
    await _login(page, server, "zhangsan", "/console/conversations")
    assert await page.locator("#conversation-list tbody tr").count() == 4

    await page.fill("input[name=conf_below]", "0.5")
    await page.click("#filters button[type=submit]")
    await page.wait_for_url("**conf_below=0.5**")
    rows = page.locator("#conversation-list tbody tr")
    assert await rows.count() == 1
    assert "经十路" in await rows.first.inner_text()
    await _assert_no_personal_data(page)

    await rows.first.locator("td.message a").click()
    await page.wait_for_url("**/console/conversations/*")
    turn = page.locator("li.turn.citizen").first
    assert "138****5678" in await turn.inner_text()
    assert await turn.locator(".intent").inner_text() == "未能识别"
    await _assert_no_personal_data(page)

    await turn.locator("details.correct-intent > summary").click()
    form = turn.locator("details.correct-intent form")
    await form.locator("select[name=intent]").select_option("complain")
    await form.locator("select[name=entity_0]").select_option("location")
    await form.locator("input[name=entity_text_0]").fill("经十路")
    await form.locator("select[name=entity_1]").select_option("phone_number")
    # The reviewer copies the masked number; the server maps it to the real characters.
    await form.locator("input[name=entity_text_1]").fill("138****5678")
    await form.locator("button[type=submit]").click()
    await page.wait_for_load_state()
    corrected = page.locator("li.turn.citizen .correction").first
    assert "已修正为：投诉" in await corrected.inner_text()
    await _assert_no_personal_data(page)

    await page.click("text=意图修正")
    await page.wait_for_url("**/console/corrections")
    assert "1 条尚未导出" in await page.inner_text("main")
    async with page.expect_download() as info:
        await page.click("#export-yaml")
    download = await info.value
    exported = tmp_path / "data" / "corrections.yml"
    exported.parent.mkdir()
    await download.save_as(exported)
    body = exported.read_text(encoding="utf-8")
    assert "- intent: complain" in body and "[经十路](location)" in body
    assert "[13800005678](phone_number)" in body and PHONE not in body

    if not RASA.exists():
        pytest.skip("the Rasa runtime (.venv-rasa) is not installed")
    for nlu_file in (PROJECT_ROOT / "data" / "nlu").glob("*.yml"):
        shutil.copy(nlu_file, exported.parent / nlu_file.name)
    process = await asyncio.create_subprocess_exec(
        str(RASA),
        "data",
        "validate",
        "--domain",
        "domain.yml",
        "--data",
        str(exported.parent),
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=300)
    log = output.decode("utf-8", "replace")
    assert process.returncode == 0, log[-3000:]
    assert "is not in domain" not in log


async def test_personal_data_stays_masked_without_permission(page: Page, server: Server) -> None:
    await _login(page, server, "zhangsan", "/console/conversations")
    links = await page.locator("#conversation-list td.message a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    for link in [*links, "/console/metrics", "/console/corrections"]:
        for suffix in ("", "?unmask=1"):
            await page.goto(server.url + link + suffix)
            await _assert_no_personal_data(page)
            assert await page.locator("#unmask-link").count() == 0


async def test_unmasking_shows_the_data_and_is_audited(page: Page, server: Server) -> None:
    await _login(page, server, "lisi", "/console/conversations")
    await page.locator("#conversation-list td.message a", has_text="身份证").click()
    await page.wait_for_url("**/console/conversations/*")
    await _assert_no_personal_data(page)
    await page.click("#unmask-link")
    await page.wait_for_url("**unmask=1")
    assert ID_NUMBER in await page.inner_text("li.turn.citizen")
    entries = await server.app[keys.ACCOUNTS].audit.entries(action="personal_data.unmask")
    assert [e.username for e in entries] == ["lisi"]


async def test_citizen_markup_never_runs(page: Page, server: Server) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await _login(page, server, "zhangsan", "/console/conversations")
    await page.locator("#conversation-list td.message a", has_text="噪音扰民").click()
    await page.wait_for_url("**/console/conversations/*")
    text = await page.inner_text("li.turn.citizen .text")
    assert text.startswith("<script>window.__xss = 1</script>")
    assert await page.evaluate("typeof window.__xss") == "undefined"
    assert await page.locator("li.turn img").count() == 0
    assert dialogs == []


async def test_model_panel_and_routing_explanation(page: Page, server: Server) -> None:
    """The live routing model with its training data and scores, and for a citizen turn that
    states a matter the same explanation agents see, in Chinese and masked."""
    await _login(page, server, "zhangsan", "/console/metrics")
    panel = page.locator("#routing-model")
    await panel.scroll_into_view_if_needed()
    shown = await panel.inner_text()
    assert "当前分派模型" in shown and "北京时间" in shown and "派单目录典型事项" in shown
    assert re.search(r"合计 \d+ 条", shown)
    assert re.search(r"训练时间\s*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d（北京时间）", shown)

    # Loaded once for the process (agents' workspace does the same when they connect).
    await asyncio.to_thread(server.app[keys.CLASSIFIER], "路灯坏了")
    await page.goto(server.url + "/console/conversations")
    await page.locator("#conversation-list td.message a", has_text="经十路").click()
    await page.wait_for_url("**/console/conversations/*")
    explanation = page.locator("li.turn.citizen .explanation").first
    text = await explanation.inner_text()
    assert "承办单位" in text and "济南市城市管理局" in text and "路灯不亮、路灯损坏" in text
    assert "相似的历史诉求" in text and "urban_management" not in text
    await _assert_no_personal_data(page)
