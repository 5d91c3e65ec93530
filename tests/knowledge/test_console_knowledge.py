"""The knowledge console over HTTP: rights, four eyes, clear refusals, imports, flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData

from bot.accounts import Role
from bot.gateway import keys
from bot.gateway.app import create_app
from bot.gateway.console.knowledge_services import KNOWLEDGE_CONSOLE
from bot.knowledge.engine import KnowledgeBase
from bot.knowledge.runtime import LazyKnowledgeBase
from bot.settings import Settings
from tests.support.console import PASSWORD, Client, Console, closed_port

FORM = {
    "kind": "knowledge",
    "title": "共享书房借阅卡怎么申领",
    "content": "可在“泉城书房”小程序在线申领，凭身份证免押金。",
    "category": "文化/图书馆",
    "department": "市文化和旅游局",
}
CATALOGUE = (
    "标准号,标准名称,标准状态,实施日期\n"
    "GB/T 99001-2026,健身步道建设规范,现行,2026-07-01\n"
    "GB/T 99002-2026,,现行,2026-07-01\n"
    "GB/T 99003-2026,笼式足球场地要求,有时候,2026-07-01\n"
)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.accounts.passwords._N", 2**10)


def _app(settings: Settings, seeded_kb: KnowledgeBase, **overrides: Any) -> Any:
    settings = settings.with_overrides(rasa_url=f"http://127.0.0.1:{closed_port()}", **overrides)
    app = create_app(settings)
    app[keys.KNOWLEDGE] = LazyKnowledgeBase(settings, knowledge_base=seeded_kb)
    return app


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, seeded_kb: KnowledgeBase) -> Client:
    created: Client = await aiohttp_client(_app(settings, seeded_kb))
    users = created.app[keys.ACCOUNTS].users
    await users.create("editor1", PASSWORD, Role.EDITOR, display_name="王编辑")
    await users.create("reviewer1", PASSWORD, Role.REVIEWER, display_name="赵审核")
    await users.create("reviewer2", PASSWORD, Role.REVIEWER, display_name="钱审核")
    await users.create("agent1", PASSWORD, Role.AGENT, display_name="话务员甲")
    return created


async def _as(client: Client, username: str) -> str:
    client.session.cookie_jar.clear()
    return await Console(client).login(username)


async def _post(client: Client, path: str, csrf: str, **fields: str) -> Any:
    return await client.post(path, data={"_csrf": csrf, **fields}, allow_redirects=False)


async def test_only_knowledge_roles_reach_the_console(client: Client) -> None:
    await _as(client, "agent1")
    assert (await client.get("/console/knowledge")).status == 403
    await _as(client, "editor1")
    home = await client.get("/console/", allow_redirects=False)
    assert home.headers["Location"] == "/console/knowledge"
    page = await client.get("/console/knowledge")
    assert page.status == 200 and "待审核" in await page.text()


async def test_editor_drafts_and_a_different_reviewer_publishes(client: Client) -> None:
    csrf = await _as(client, "editor1")
    bad = await _post(client, "/console/knowledge/new", csrf, **{**FORM, "expires": "明年"})
    assert bad.status == 422 and "失效日期“明年”不是有效日期" in await bad.text()
    created = await _post(client, "/console/knowledge/new", csrf, **FORM)
    assert created.status == 303
    record_id = (await client.get(created.headers["Location"])).url.query["id"]
    assert (
        await _post(client, "/console/knowledge/record/submit", csrf, record_id=record_id)
    ).status == 303
    refused = await _post(client, "/console/knowledge/record/publish", csrf, record_id=record_id)
    assert refused.status == 403 and "您没有审核权限" in await refused.text()

    csrf = await _as(client, "reviewer1")
    edited = await _post(
        client,
        "/console/knowledge/record/edit",
        csrf,
        **{**FORM, "record_id": record_id, "content": FORM["content"] + "每次最多借5本。"},
    )
    assert edited.status == 303
    await _post(client, "/console/knowledge/record/submit", csrf, record_id=record_id)
    own = await _post(client, "/console/knowledge/record/publish", csrf, record_id=record_id)
    assert own.status == 409 and "审核人不能是这条记录的编辑人" in await own.text()

    csrf = await _as(client, "reviewer2")
    published = await _post(client, "/console/knowledge/record/publish", csrf, record_id=record_id)
    assert published.status == 303
    page = await (await client.get(published.headers["Location"])).text()
    assert "已发布" in page and "每次最多借5本" in page and "<ins>" in page
    missing = await client.get("/console/knowledge/record?id=kp:nothing")
    assert missing.status == 404 and "没有找到这条知识库记录" in await missing.text()
    listed = await client.get("/console/knowledge", params={"q": "泉城书房"})
    assert "共 1 条记录" in await listed.text()


async def test_import_reports_rows_before_a_second_person_publishes(
    client: Client, tmp_path: Path
) -> None:
    csrf = await _as(client, "reviewer1")
    form = FormData()
    form.add_field("kind", "standard")
    form.add_field("file", CATALOGUE.encode("utf-8"), filename="目录.csv")
    upload = await client.post(
        "/console/knowledge/import",
        data=form,
        headers={"X-CSRF-Token": csrf},
        allow_redirects=False,
    )
    assert upload.status == 303, await upload.text()
    report = await (await client.get(upload.headers["Location"])).text()
    assert "新增 <strong>1</strong> 条" in report and "拒绝 <strong>2</strong> 行" in report
    assert "第3行" in report and "缺少标准名称" in report and "第4行" in report
    assert "kb-import-confirm" not in report  # the uploader may not confirm
    confirm_path = upload.headers["Location"] + "/confirm"
    assert (await _post(client, confirm_path, csrf)).status == 403

    csrf = await _as(client, "reviewer2")
    done = await _post(client, confirm_path, csrf)
    assert done.status == 303 and done.headers["Location"] == "/console/knowledge?done=import"
    page = await client.get("/console/knowledge", params={"q": "健身步道"})
    assert "GB/T 99001-2026" in await page.text()
    bad = await client.post(
        "/console/knowledge/import",
        data={"file": b"x"},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status == 400


async def test_flags_from_citizens_and_agents_reach_the_reviewers(client: Client) -> None:
    flag = {"reason": "outdated", "question": "办居住证要什么", "answer": "关于居住证……"}
    citizen = await client.post("/api/v1/knowledge/flags", json={**flag, "entry_id": "kp-0001"})
    assert citizen.status == 201 and "感谢反馈" in (await citizen.json())["message"]
    wrong = await client.post("/api/v1/knowledge/flags", json={**flag, "reason": "meh"})
    assert wrong.status == 400 and "reason" in (await wrong.json())["message"]
    empty = await client.post("/api/v1/knowledge/flags", json={**flag, "question": " "})
    assert empty.status == 400
    csrf = await _as(client, "agent1")
    agent = await client.post(
        "/api/v1/agent/knowledge-flags",
        json={**flag, "reason": "wrong", "comment": "材料清单已更新"},
        headers={"X-CSRF-Token": csrf},
    )
    assert agent.status == 201
    csrf = await _as(client, "reviewer1")
    queue = await (await client.get("/console/knowledge/flags")).text()
    assert "信息过时" in queue and "材料清单已更新" in queue and "话务员 agent1" in queue
    home = await (await client.get("/console/knowledge")).text()
    assert "<strong>2</strong> 条一线反馈待处理" in home
    resolved = await _post(client, "/console/knowledge/flags/1/resolve", csrf)
    assert resolved.status == 303
    again = await _post(client, "/console/knowledge/flags/1/resolve", csrf)
    assert again.status == 404


async def test_citizen_flags_are_limited_per_client_address(
    aiohttp_client: Any, settings: Settings, seeded_kb: KnowledgeBase
) -> None:
    limited: Client = await aiohttp_client(_app(settings, seeded_kb, knowledge_flags_per_address=2))
    flag = {"reason": "wrong", "question": "办居住证要什么", "answer": "关于居住证……"}
    sent = [await limited.post("/api/v1/knowledge/flags", json=flag) for _ in range(3)]
    assert [r.status for r in sent] == [201, 201, 429]
    assert "请稍后再试" in (await sent[2].json())["message"]
    assert len(limited.app[KNOWLEDGE_CONSOLE].flags.open_flags()) == 2
