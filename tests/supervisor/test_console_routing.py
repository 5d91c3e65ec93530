"""A supervisor corrects a message's request type and handling unit in the console; the
verdict becomes a training row of ``routing export-training``."""

from __future__ import annotations

import json
from pathlib import Path

from bot.console.queries import ConversationFilter, list_conversations
from bot.gateway import keys
from bot.routing.feedback import export_training
from bot.settings import Settings
from tests.support.console import Console, seed_conversations

HTML = {"Accept": "text/html"}
PHONE = "13812345678"


async def _seq(console: Console, conversation_id: str) -> int:
    services = console.client.app[keys.CONSOLE]
    page = await list_conversations(services.engine, services.index.search, ConversationFilter())
    return next(row.seq for row in page.rows if row.conversation_id == conversation_id)


async def test_type_and_unit_corrections_become_training_rows(
    console: Console, console_settings: Settings, tmp_path: Path
) -> None:
    ids = await seed_conversations(console.client)
    csrf = await console.login("super1")
    seq = await _seq(console, "web-lamp")
    url = f"/console/messages/{ids['lamp']}/routing-correction"
    form = {"seq": str(seq), "request_type": "投诉", "department": "urban_management"}

    refused = await console.client.post(url, data=form, headers=HTML)  # no CSRF token
    assert refused.status == 403
    saved = await console.client.post(url, data={**form, "_csrf": csrf}, allow_redirects=False)
    assert saved.status == 303
    lamp = ids["lamp"]
    assert saved.headers["Location"] == f"/console/conversations/{seq}?saved={lamp}#turn-{lamp}"

    page = await (await console.client.get(f"/console/conversations/{seq}", headers=HTML)).text()
    assert "类型和承办单位已修正为：<strong>投诉 · 城管局" in page
    assert f'action="/console/messages/{ids["lamp"]}/routing-correction"' in page
    entries = await console.client.app[keys.ACCOUNTS].audit.entries(action="review.correct_routing")
    assert [(e.username, e.target, e.detail) for e in entries] == [
        ("super1", str(ids["lamp"]), {"request_type": "投诉", "department": "urban_management"})
    ]

    out = tmp_path / "field.jsonl"
    counts = await export_training(console_settings, out)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert counts == {"correction": 1}
    assert rows[0]["request_type"] == "投诉" and rows[0]["department"] == "urban_management"
    assert rows[0]["message"].startswith("经十路") and PHONE not in rows[0]["message"]


async def test_corrections_are_checked_and_need_the_supervisor_role(console: Console) -> None:
    ids = await seed_conversations(console.client)
    csrf = await console.login("super1")
    seq = await _seq(console, "web-lamp")
    lamp = f"/console/messages/{ids['lamp']}/routing-correction"
    for form, error in (
        ({"department": "made_up"}, "请从列表中选择派单目录中的承办单位"),
        ({"request_type": "闲聊"}, "请从列表中选择诉求类型"),
        ({}, "请至少选择正确的诉求类型或承办单位"),
    ):
        bad = await console.client.post(
            lamp, data={"_csrf": csrf, "seq": str(seq), **form}, headers=HTML
        )
        assert bad.status == 400 and error in await bad.text()
    not_citizen = await console.client.post(
        f"/console/messages/{ids['lamp'] + 1}/routing-correction",  # the bot's reply
        data={"_csrf": csrf, "seq": str(seq), "request_type": "投诉"},
        headers=HTML,
    )
    assert not_citizen.status == 400 and "只能修正市民消息" in await not_citizen.text()

    agent_csrf = await console.login("agent1")
    as_agent = await console.client.post(
        lamp, data={"_csrf": agent_csrf, "request_type": "投诉"}, headers=HTML
    )
    assert as_agent.status == 403
