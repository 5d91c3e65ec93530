"""A citizen's right to deletion, end to end: one conversation reaches every store (chat
transcript, search index, unanswered log, 留言, handoff episode, assist suggestions, the
work-order outbox, Rasa's tracker), is deleted through the console or by the command-line
retention job, and afterwards no byte of any file under the gateway's data directory holds
the citizen's phone or ID number. The work-order platform's own database (the official
record) lives elsewhere (``workorder_service``'s directory) and is not scanned."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.__main__ import main as cli
from bot.console.tables import conversation_table
from bot.gateway import keys
from bot.handoff.texts import NOTE_PAYLOAD
from bot.storage import open_engine
from bot.workorders.outbox.sql import outbox_table
from tests.support.agent import Harness

PHONE = "13912345678"
ID_NUMBER = "370102199003071238"
SECRETS = (PHONE.encode(), ID_NUMBER.encode())


async def _touch_every_store(gateway: Harness) -> str:
    citizen = await gateway.citizen()
    assert (await citizen.say("转人工"))["status"] == "handoff_unavailable"  # nobody on duty
    assert (await citizen.say(NOTE_PAYLOAD))["status"] == "note_prompt"
    assert (await citizen.say(f"路灯坏了一周了，电话{PHONE}"))["status"] == "note_left"
    await citizen.say(f"我的身份证{ID_NUMBER}，手机{PHONE}")  # not understood: unanswered log

    agent = await gateway.agent("agent1")
    await agent.on_duty()
    assert (await citizen.say("转人工"))["status"] == "handoff_waiting"
    cid = citizen.conversation_id
    assert (await agent.post(f"/api/v1/agent/conversations/{cid}/claim"))[0] == 200
    status, view = await agent.post(f"/api/v1/agent/conversations/{cid}/assist")
    assert status == 200 and view["suggestions"] and PHONE in view["query"]
    order = {**view["draft"], "phone": PHONE, "content": f"路灯坏了，身份证{ID_NUMBER}"}
    status, accepted = await agent.post(f"/api/v1/agent/conversations/{cid}/workorder", order)
    assert status == 200 and accepted["order_no"].startswith("GD"), accepted
    status, _ = await agent.post(
        f"/api/v1/agent/conversations/{cid}/close",
        {"wrap_up": "answered", "note": f"已登记，回访{PHONE}"},
    )
    assert status == 200
    return cid


def _rasa_tracker(var_dir: Path, cid: str) -> None:
    """What Rasa's SQLTrackerStore keeps in its own SQLite file: every event, with text."""
    db = sqlite3.connect(var_dir / "rasa_tracker.db")
    db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, data TEXT)")
    db.execute("INSERT INTO events (sender_id, data) VALUES (?, ?)", (cid, ID_NUMBER + PHONE))
    db.commit()
    db.close()


def _files_holding_secrets(var_dir: Path) -> list[str]:
    return sorted(
        str(path.relative_to(var_dir))
        for path in var_dir.rglob("*")
        if path.is_file() and any(secret in path.read_bytes() for secret in SECRETS)
    )


async def _delete_in_console(gateway: Harness) -> None:
    admin = await gateway.agent("admin1")
    found = await admin.http.post(
        gateway.base + "/console/privacy/search",
        data={"_csrf": admin.csrf, "identifier": "139-1234-5678"},
    )
    seqs = re.findall(r'name="seq" value="(\d+)"', await found.text())
    assert len(seqs) == 1
    done = await admin.http.post(
        gateway.base + "/console/privacy/delete",
        data={"_csrf": admin.csrf, "seq": seqs, "confirm": "yes"},
    )
    assert "已删除 1 个会话" in await done.text()


async def _age(gateway: Harness, cid: str, days: int) -> None:
    then = datetime.now(UTC) - timedelta(days=days)
    async with gateway.app[keys.DB].begin() as conn:
        await conn.execute(
            update(conversation_table)
            .where(conversation_table.c.conversation_id == cid)
            .values(started_at=then, last_at=then)
        )
    outbox = open_engine(None, gateway.app[keys.SETTINGS].var_dir / "workorder_outbox.db")
    try:
        async with outbox.begin() as conn:
            await conn.execute(update(outbox_table).values(delivered_at=then, accepted_at=then))
    finally:
        await outbox.dispose()


@pytest.mark.parametrize("path", ["console", "cli-delete", "cli-anonymise"])
async def test_deleted_citizen_data_is_gone_from_every_file(
    assisted: Harness, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    var_dir = assisted.app[keys.SETTINGS].var_dir
    cid = await _touch_every_store(assisted)
    _rasa_tracker(var_dir, cid)
    held = _files_holding_secrets(var_dir)
    assert {"hotline.db", "workorder_outbox.db", "rasa_tracker.db"} <= {
        name.removesuffix("-wal") for name in held
    }

    if path == "console":
        await _delete_in_console(assisted)
    else:
        await _age(assisted, cid, 40)
        for name in ("DATABASE_URL", "REDIS_URL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HOTLINE_VAR_DIR", str(var_dir))
        monkeypatch.setenv("RETENTION_DAYS", "30")
        monkeypatch.setenv("RETENTION_MODE", path.removeprefix("cli-"))
        assert await asyncio.to_thread(cli, ["console", "retention"]) == 0

    assert _files_holding_secrets(var_dir) == []
