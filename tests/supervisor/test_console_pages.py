"""The console over HTTP: permissions, masking, unmasking, CSRF, exports, metrics, privacy."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.console.tables import conversation_table
from bot.gateway import keys
from bot.gateway.channels.workorder_notices import WEBHOOK_PATH
from bot.settings import Settings
from bot.workorders.webhooks import SIGNATURE_HEADER, WebhookEvent, encode_event, sign
from tests.support.console import Client, Console, seed_conversations

PHONE = "13812345678"
ID_NUMBER = "370102199003071238"
HTML = {"Accept": "text/html"}


@pytest.fixture
async def seeded(console: Console) -> tuple[Console, dict[str, int]]:
    return console, await seed_conversations(console.client)


async def _page(client: Client, url: str) -> str:
    response = await client.get(url, headers=HTML)
    assert response.status == 200, (url, response.status)
    return await response.text()


async def _seq_of(client: Client, conversation_id: str) -> int:
    html = await _page(client, "/console/conversations")
    seqs = [int(s) for s in re.findall(r'href="/console/conversations/(\d+)"', html)]
    for seq in seqs:
        if conversation_id in await _page(client, f"/console/conversations/{seq}"):
            return seq
    raise AssertionError(conversation_id)


async def _audit(client: Client, action: str) -> list[tuple[str, str, object]]:
    entries = await client.app[keys.ACCOUNTS].audit.entries(action=action)
    return [(e.username, e.target, e.detail) for e in entries]


async def test_agents_cannot_open_the_console(seeded: tuple[Console, dict[str, int]]) -> None:
    console, _ = seeded
    await console.login("agent1")
    response = await console.client.get("/console/conversations", headers=HTML)
    assert response.status == 403
    assert "没有访问此页面的权限" in await response.text()


async def test_logged_out_browser_is_sent_to_the_login_page(console: Console) -> None:
    response = await console.client.get("/console/metrics", headers=HTML, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login?next=/console/metrics"


async def test_pages_never_contain_personal_data_without_the_permission(
    seeded: tuple[Console, dict[str, int]],
) -> None:
    console, _ = seeded
    await console.login("super1")
    client = console.client
    pages = ["/console/conversations", "/console/corrections", "/console/metrics"]
    html = await _page(client, "/console/conversations")
    pages += sorted(set(re.findall(r'href="(/console/conversations/\d+)"', html)))
    pages += [f"{p}?unmask=1" for p in pages]  # asking is not enough
    for url in pages:
        body = await _page(client, url)
        assert PHONE not in body and ID_NUMBER not in body and "12345号" not in body, url
    assert "138****5678" in html
    assert await _audit(client, "personal_data.unmask") == []


async def test_unmasking_needs_the_permission_and_is_audited(
    seeded: tuple[Console, dict[str, int]],
) -> None:
    console, _ = seeded
    await console.login("super2")
    seq = await _seq_of(console.client, "web-lamp")
    masked = await _page(console.client, f"/console/conversations/{seq}")
    assert PHONE not in masked and "显示完整个人信息" in masked
    full = await _page(console.client, f"/console/conversations/{seq}?unmask=1")
    assert PHONE in full and "记入审计日志" in full
    assert await _audit(console.client, "personal_data.unmask") == [
        ("super2", str(seq), {"view": "conversation"})
    ]


async def test_citizen_text_is_escaped(seeded: tuple[Console, dict[str, int]]) -> None:
    console, _ = seeded
    await console.login("super1")
    seq = await _seq_of(console.client, "web-noise")
    for url in ("/console/conversations", f"/console/conversations/{seq}"):
        response = await console.client.get(url, headers=HTML)
        body = await response.text()
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]


async def test_filters_on_the_list_page(seeded: tuple[Console, dict[str, int]]) -> None:
    console, _ = seeded
    await console.login("super1")
    low = await _page(console.client, "/console/conversations?conf_below=0.5")
    assert "经十路" in low and "GB/T 33358" not in low and "噪音" not in low
    searched = await _page(console.client, "/console/conversations?q=噪音&handoff=1")
    assert "噪音" in searched and "经十路" not in searched
    entries = await _audit(console.client, "conversation.list")
    assert {"filters": {"query": "噪音", "handed_off": True}, "before": None} in [
        e[2] for e in entries
    ]


async def test_searching_for_personal_data_needs_the_permission(
    seeded: tuple[Console, dict[str, int]],
) -> None:
    console, _ = seeded
    await console.login("super1")
    refused = await _page(console.client, f"/console/conversations?q={PHONE}")
    assert "需要“查看个人信息”权限" in refused and PHONE not in refused
    await console.login("super2")
    allowed = await _page(console.client, f"/console/conversations?q={PHONE}")
    results = allowed[allowed.index('id="conversation-list"') :]
    assert "138****5678" in results and PHONE not in results  # found, still masked
    assert await _audit(console.client, "conversation.list")  # query logged masked
    logged = str(await _audit(console.client, "conversation.list"))
    assert PHONE not in logged


async def test_review_forms_need_the_csrf_token(seeded: tuple[Console, dict[str, int]]) -> None:
    console, _ = seeded
    csrf = await console.login("super1")
    seq = await _seq_of(console.client, "web-lamp")
    url = f"/console/conversations/{seq}/tags"
    refused = await console.client.post(url, data={"tag": "路灯"}, headers=HTML)
    assert refused.status == 403
    ok = await console.client.post(url, data={"tag": "路灯", "_csrf": csrf}, allow_redirects=False)
    assert ok.status == 303 and ok.headers["Location"] == f"/console/conversations/{seq}"
    await console.client.post(
        f"/console/conversations/{seq}/notes", data={"body": "应追问具体位置", "_csrf": csrf}
    )
    await console.client.post(
        f"/console/conversations/{seq}/review", data={"reviewed": "1", "_csrf": csrf}
    )
    detail = await _page(console.client, f"/console/conversations/{seq}")
    assert "应追问具体位置" in detail and "已复核（super1）" in detail
    tagged = await _page(console.client, "/console/conversations?tag=路灯&reviewed=1")
    assert "经十路" in tagged
    bad = await console.client.post(url, data={"tag": "<b>x</b>", "_csrf": csrf}, headers=HTML)
    assert bad.status == 400 and "标签应为" in await bad.text()
    assert [a[1] for a in await _audit(console.client, "review.tag")] == [str(seq)]


async def test_correction_and_yaml_export(seeded: tuple[Console, dict[str, int]]) -> None:
    console, ids = seeded
    csrf = await console.login("super1")
    seq = await _seq_of(console.client, "web-lamp")
    response = await console.client.post(
        f"/console/messages/{ids['lamp']}/correction",
        data={
            "_csrf": csrf,
            "seq": str(seq),
            "intent": "complain",
            "entity_0": "phone_number",
            "entity_text_0": PHONE,
            "entity_1": "location",
            "entity_text_1": "经十路",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    wrong = await console.client.post(
        f"/console/messages/{ids['lamp']}/correction",
        data={"_csrf": csrf, "seq": str(seq), "intent": "made_up"},
        headers=HTML,
    )
    assert wrong.status == 400 and "不在 domain.yml" in await wrong.text()
    listing = await _page(console.client, "/console/corrections")
    assert (
        "<td>投诉</td>" in listing
        and "complain" not in listing
        and PHONE not in listing
        and "1 条尚未导出" in listing
    )
    exported = await console.client.get("/console/corrections.yml")
    assert exported.headers["Content-Disposition"].startswith("attachment;")
    body = await exported.text()
    assert "- intent: complain" in body
    assert "[经十路](location)00000号门口路灯坏了，电话[13800005678](phone_number)" in body
    await console.client.post("/console/corrections/mark-exported", data={"_csrf": csrf})
    only_new = await (await console.client.get("/console/corrections.yml?only_new=1")).text()
    assert "intent:" not in only_new
    assert (await _audit(console.client, "export.nlu_yaml"))[0][2] == {"count": 0, "only_new": True}


async def test_csv_exports_are_masked_and_formula_safe(
    seeded: tuple[Console, dict[str, int]],
) -> None:
    console, _ = seeded
    await console.client.app[keys.TRANSCRIPT].append(
        "formula", "webchat", "citizen", '=HYPERLINK("http://evil.example","点我")'
    )
    await console.login("super1")
    response = await console.client.get("/console/conversations.csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    raw = await response.read()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["序号", "会话标识", "渠道"]
    assert len(rows) == 5
    flat = "\n".join(",".join(r) for r in rows)
    assert PHONE not in flat and "138****5678" in flat
    assert "'=HYPERLINK(" in flat
    unmask_attempt = await (await console.client.get("/console/conversations.csv?unmask=1")).read()
    assert PHONE.encode() not in unmask_attempt
    await console.login("super2")
    full = await (await console.client.get("/console/conversations.csv?unmask=1")).read()
    assert PHONE.encode() in full
    assert [d for _, _, d in await _audit(console.client, "export.conversations_csv")] == [
        {"filters": {}, "unmasked": True},
        {"filters": {}, "unmasked": False},
        {"filters": {}, "unmasked": False},
    ]


async def test_agents_and_exports_without_permission(
    seeded: tuple[Console, dict[str, int]],
) -> None:
    console, _ = seeded
    await console.login("agent1")
    assert (await console.client.get("/console/conversations.csv")).status == 403
    assert (await console.client.get("/console/corrections.yml")).status == 403


async def test_metrics_page_without_and_with_work_orders(
    seeded: tuple[Console, dict[str, int]], console_settings: Settings
) -> None:
    console, _ = seeded
    await console.login("super1")
    html = await _page(console.client, "/console/metrics")
    assert "会话总数" in html and "<svg" in html and "暂无数据（尚未连接工单系统" in html
    assert "未能识别" in html and "nlu_fallback" not in html  # top intents, in Chinese
    assert "138****5678" in html and PHONE not in html  # unanswered question, masked
    assert "33.3%" in html  # 1 of 3 conversations handed off / fallback
    await _receive_work_order_events(console.client, console_settings.workorder_webhook_secret)
    html = await _page(console.client, "/console/metrics")
    assert "按时答复率" in html and "市政管理部门" in html and "红牌超期" in html
    table = await (await console.client.get("/console/metrics/wo_status.csv")).text()
    assert "已办结" in table and "办理中" in table
    summary = await (await console.client.get("/console/metrics/wo_summary.csv")).text()
    assert "按时答复率,50.0%" in summary
    assert "诉求类型" in html
    types = await (await console.client.get("/console/metrics/wo_type.csv")).text()
    assert "投诉,2" in types and "未分类,1" in types  # the third platform sends no type
    rated = await (await console.client.get("/console/metrics/wo_satisfaction.csv")).text()
    assert "基本满意,1" in rated
    assert "红牌超期（在办）,1" in summary
    per_day = await (await console.client.get("/console/metrics/per_day.csv")).text()
    assert len(per_day.strip().splitlines()) == 31  # header + 30 days, empty days included
    assert (await console.client.get("/console/metrics/nope.csv")).status == 404


async def _receive_work_order_events(client: Client, secret: str) -> None:
    """Three orders as the platform reports them by webhook: answered on time and rated,
    answered late, and overdue while being handled. The first two carry their request type
    and rating; the third comes without them, as from a platform that does not send them."""
    now = datetime.now(UTC)
    soon, overdue = now + timedelta(days=5), now - timedelta(days=1)
    history = [
        ("GD2026112900001", "accept", "accepted", "", None),
        ("GD2026112900001", "dispatch", "dispatched", "市政管理部门", soon),
        ("GD2026112900001", "reply", "replied", "市政管理部门", soon),
        ("GD2026112900001", "rate", "closed", "市政管理部门", soon, "basically_satisfied"),
        ("GD2026112900002", "accept", "accepted", "", None),
        ("GD2026112900002", "dispatch", "dispatched", "市政管理部门", overdue),
        ("GD2026112900002", "reply", "replied", "市政管理部门", overdue),
        ("GD2026112900003", "accept", "accepted", "", None),
        ("GD2026112900003", "dispatch", "dispatched", "生态环境部门", overdue),
        ("GD2026112900003", "start", "handling", "生态环境部门", overdue),
    ]
    for step, (order_no, action, status, department, due, *rating) in enumerate(history):
        typed = not order_no.endswith("3")
        event = WebhookEvent(
            event_id=uuid.uuid4().hex,
            order_no=order_no,
            acceptance_no="",
            action=action,
            action_label=action,
            status=status,
            status_label=status,
            previous_status="",
            department=department,
            deadline=due.isoformat() if due else None,
            at=(now - timedelta(minutes=60 - step)).isoformat(),
            channel="",
            channel_user="",
            conversation_id="",
            message="",
            request_type="投诉" if typed else "",
            rating=rating[0] if rating else None,
        )
        body = encode_event(event)
        if not typed:  # the optional fields left out altogether, still signed and understood
            fields = json.loads(body)
            del fields["request_type"], fields["rating"]
            body = json.dumps(fields, ensure_ascii=False).encode()
        response = await client.post(
            WEBHOOK_PATH,
            data=body,
            headers={SIGNATURE_HEADER: sign(secret, body), "Content-Type": "application/json"},
        )
        assert response.status == 200, await response.text()


async def test_deleting_a_citizens_data(seeded: tuple[Console, dict[str, int]]) -> None:
    console, _ = seeded
    await console.login("super1")
    assert (await console.client.get("/console/privacy", headers=HTML)).status == 403
    csrf = await console.login("admin1")
    found = await console.client.post(
        "/console/privacy/search", data={"_csrf": csrf, "identifier": PHONE}
    )
    html = await found.text()
    assert "找到 1 个" in html and PHONE not in html
    seqs = re.findall(r'name="seq" value="(\d+)"', html)
    refused = await console.client.post(
        "/console/privacy/delete", data={"_csrf": csrf, "seq": seqs}
    )
    assert refused.status == 400
    done = await console.client.post(
        "/console/privacy/delete", data={"_csrf": csrf, "seq": seqs, "confirm": "yes"}
    )
    assert "已删除 1 个会话" in await done.text()
    assert await console.client.app[keys.TRANSCRIPT].history("web-lamp") == []
    listing = await _page(console.client, "/console/conversations")
    assert "经十路" not in listing
    assert (await _audit(console.client, "citizen.search"))[0][1] == "138****5678"
    assert (await _audit(console.client, "citizen.delete"))[0][2] == {"seqs": [int(seqs[0])]}
    audit_page = await _page(console.client, "/console/audit")
    assert "citizen.delete" in audit_page and PHONE not in audit_page


async def test_citizen_search_is_audited_masked_and_the_official_record_is_explained(
    seeded: tuple[Console, dict[str, int]],
) -> None:
    console, _ = seeded
    csrf = await console.login("admin1")
    page = await _page(console.client, "/console/privacy")
    assert "正式记录" in page and "工单平台" in page
    mistyped_id = ID_NUMBER[:-1] + "9"  # wrong check digit: still the citizen's number
    for identifier, expected in (
        ("web-lamp", "找到 1 个"),
        (mistyped_id, "没有找到"),
        ("138-1234-5678", "找到 1 个"),
    ):
        found = await console.client.post(
            "/console/privacy/search", data={"_csrf": csrf, "identifier": identifier}
        )
        assert expected in await found.text(), identifier
    targets = [target for _, target, _ in await _audit(console.client, "citizen.search")]
    assert targets == ["138****5678", "370102********1239", "we****mp"]


async def test_retention_can_be_run_from_the_console(
    seeded: tuple[Console, dict[str, int]],
) -> None:
    console, _ = seeded
    engine = console.client.app[keys.DB]
    async with engine.begin() as conn:
        await conn.execute(
            update(conversation_table)
            .where(conversation_table.c.conversation_id == "wx-std")
            .values(last_at=datetime.now(UTC) - timedelta(days=400))
        )
    csrf = await console.login("admin1")
    response = await console.client.post("/console/privacy/retention", data={"_csrf": csrf})
    assert "已匿名化 1 个过期会话" in await response.text()


async def test_retention_job_runs_on_a_schedule(seeded: tuple[Console, dict[str, int]]) -> None:
    """``retention_loop`` is what the gateway's cleanup context starts."""
    import asyncio

    from bot.console.retention import retention_loop

    console, _ = seeded
    engine = console.client.app[keys.DB]
    stop = asyncio.Event()
    task = asyncio.create_task(
        retention_loop(console.client.app[keys.CONSOLE].retention, 30, "delete", 0.05, stop)
    )
    async with engine.begin() as conn:
        await conn.execute(
            update(conversation_table)
            .where(conversation_table.c.conversation_id == "wx-std")
            .values(last_at=datetime.now(UTC) - timedelta(days=31))
        )
    store = console.client.app[keys.TRANSCRIPT]
    for _ in range(100):
        if not await store.history("wx-std"):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    assert await store.history("wx-std") == []
    assert await store.history("web-lamp") != []


async def test_corrections_and_audit_log_as_csv(seeded: tuple[Console, dict[str, int]]) -> None:
    console, ids = seeded
    csrf = await console.login("admin1")
    seq = await _seq_of(console.client, "web-lamp")
    await console.client.post(
        f"/console/messages/{ids['lamp']}/correction",
        data={"_csrf": csrf, "seq": str(seq), "intent": "complain"},
    )
    corrections = await (await console.client.get("/console/corrections.csv")).text()
    lines = corrections.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("消息编号,会话序号,消息") and len(lines) == 2
    assert ",投诉," in lines[1] and PHONE not in corrections and "138****5678" in lines[1]
    audit_log = await (await console.client.get("/console/audit.csv")).text()
    assert "review.correct" in audit_log and "export.corrections_csv" in audit_log
    assert '""intent"": ""complain""' in audit_log  # detail kept as JSON
    await console.login("super1")
    assert (await console.client.get("/console/audit.csv")).status == 403


@pytest.mark.postgres
@pytest.mark.redis
async def test_console_on_postgresql_with_sessions_in_redis(
    aiohttp_client, console_settings: Settings, postgres_url: str, redis_url: str
) -> None:
    from bot.accounts import RedisSessionStore
    from bot.gateway.app import create_app
    from tests.support.console import seed_users

    scaled = console_settings.with_overrides(database_url=postgres_url, redis_url=redis_url)
    client = await aiohttp_client(create_app(scaled))
    assert isinstance(client.app[keys.ACCOUNTS].sessions, RedisSessionStore)
    users = client.app[keys.ACCOUNTS].users
    if await users.get_by_username("super1") is None:  # the session database is shared
        await seed_users(client)
    store = client.app[keys.TRANSCRIPT]
    row = await store.append(
        "pg-console", "wechat", "citizen", "泺源大街的井盖丢失了，电话13812345678"
    )
    await store.annotate(row, {"nlu": {"intent": "report", "confidence": 0.42}})
    console = Console(client)
    await console.login("super1")
    html = await _page(client, "/console/conversations?q=井盖丢失&conf_below=0.5&channel=wechat")
    assert "泺源大街的井盖丢失了" in html and "138****5678" in html and PHONE not in html
    user = await users.get_by_username("super1")
    assert user is not None
    await client.app[keys.ACCOUNTS].sessions.delete_for_user(user.id)  # leave Redis as found
