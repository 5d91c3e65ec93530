"""Field corrections and finally handling units become training rows ``routing train`` takes.

The finally handling unit comes from the work-order events the gateway records (its status
webhooks), so the export works against any 12345 platform, not only the reference service.
Confidential (保密) orders never become rows, whether the platform says so or not.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.__main__ import main
from bot.console.tables import conversation_table, nlu_correction_table
from bot.console.workorders import event_log
from bot.conversation.transcript import transcript_table
from bot.routing.feedback import record_correction
from bot.storage import create_engine, create_tables
from bot.workorders.dialogue.summary import Draft, Routing, summary_text
from tests.routing.learned_fixtures import tiny_settings


def _conversation(
    conversation_id: str, order_no: str, anonymised: bool = False
) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "conversation_id": conversation_id,
        "channel": "webchat",
        "started_at": now,
        "started_day": now.date(),
        "last_at": now,
        "workorder_no": order_no,
        "anonymised": anonymised,
    }


def _event(
    order_no: str, n: int, action: str, status: str, unit: str, confidential: bool | None = None
) -> dict[str, object]:
    at = datetime(2025, 3, 1, 9, tzinfo=UTC) + timedelta(hours=n)
    return {
        "event_id": f"{order_no}-{n}",
        "order_no": order_no,
        "action": action,
        "status": status,
        "department": unit,
        "request_type": "投诉" if n == 0 else "",  # only the first event names the type
        "confidential": confidential,  # None: the platform does not send the flag
        "at": at,
        "received_at": at,
    }


def _read_back(confidential: bool) -> str:
    """The summary the intake shows the citizen before filing, as the transcript keeps it."""
    draft = Draft("摊贩占道经营", "历下区", "13912345678", "张先生", True, confidential)
    routing = Routing("投诉", 0.9, "济南市城市管理局", 0.9, "历下区", False, "")
    return summary_text(draft, routing, [])


async def _seed(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    engine = create_engine(settings)
    await create_tables(engine)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            nlu_correction_table.insert().values(
                transcript_id=1,
                seq=1,
                text="暖气不热，我的电话13812345678",
                intent="complain",
                entities=[],
                corrected_by="王主管",
                corrected_at=now,
            )
        )
    await record_correction(
        engine, "暖气不热，我的电话13812345678", "王主管", request_type="投诉", department="heating"
    )
    await record_correction(engine, "建议公积金线上提取", "王主管", request_type="建议")
    # The platform's status webhooks as the gateway recorded them; no platform table is read.
    heating, city = "济南市热力有限公司", "济南市城市管理局"
    events = [
        # Sent first to the 热力公司, returned (退单) and reassigned (改派): the unit at close counts.
        _event("W1", 0, "dispatch", "dispatched", heating),
        _event("W1", 1, "return", "returned", heating),
        _event("W1", 2, "reassign", "dispatched", city),
        _event("W1", 3, "close", "closed", city),
        _event("W2", 0, "dispatch", "handling", city),  # not closed: not yet known
        # Closed, then rated 不满意: back to 已派单 for rework, so not closed any more.
        _event("W3", 0, "close", "closed", city),
        _event("W3", 1, "rate", "dispatched", city),
        _event("W4", 0, "close", "closed", city),  # its conversation was anonymised
        # 保密 said by the platform: on one event is enough, even one before the close.
        _event("W5", 0, "dispatch", "dispatched", city, confidential=True),
        _event("W5", 1, "close", "closed", city, confidential=None),
        # A platform that does not send the flag: the conversation shows the citizen asked.
        _event("W6", 0, "close", "closed", city),
        _event("W7", 0, "close", "closed", city),
        # Said not confidential, by the platform and in the read-back: a row.
        _event("W8", 0, "close", "closed", city, confidential=False),
    ]
    said = {
        "c1": ("W1", False, ["你好", "路口流动摊贩占道经营，我电话13912345678", "是的"]),
        "c2": ("W2", False, ["小区门口流动摊贩占道经营"]),
        "c3": ("W3", False, ["夜市摊贩占道经营"]),
        "c4": ("W4", True, ["早市摊贩占道经营"]),
        "c5": ("W5", False, ["邻居在楼道里占道经营，请不要告诉他是我举报的"]),
        "c6": ("W6", False, ["对门饭店油烟扰民，每天晚上都很严重", "需要保密"]),
        "c7": ("W7", False, ["楼下烧烤店深夜噪音扰民，已经持续一个月"]),
        "c8": ("W8", False, ["广场舞音响声音太大，影响休息"]),
    }
    read_backs = {"c7": _read_back(confidential=True), "c8": _read_back(confidential=False)}
    async with engine.begin() as conn:
        await conn.execute(event_log.insert(), events)
        for cid, (order_no, anonymised, texts) in said.items():
            await conn.execute(
                conversation_table.insert().values(**_conversation(cid, order_no, anonymised))
            )
            for text in texts:
                await conn.execute(
                    transcript_table.insert().values(
                        conversation_id=cid,
                        channel="webchat",
                        role="citizen",
                        text=text,
                        created_at=now,
                    )
                )
            if cid in read_backs:
                await conn.execute(
                    transcript_table.insert().values(
                        conversation_id=cid,
                        channel="webchat",
                        role="bot",
                        text=read_backs[cid],
                        created_at=now,
                    )
                )
            await conn.execute(
                transcript_table.insert().values(
                    conversation_id=cid,
                    channel="webchat",
                    role="bot",
                    text=f"您的诉求已受理，工单号{order_no}。这条很长的回复不是市民说的话，不应成为训练文本。",
                    created_at=now,
                )
            )
    await engine.dispose()


def test_export_training_rows(tmp_path: Path, monkeypatch, capsys) -> None:
    asyncio.run(_seed(tmp_path))
    for key, value in tiny_settings(tmp_path).to_env().items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "field.jsonl"
    assert main(["routing", "export-training", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    corrected, suggestion, order, not_secret = rows
    assert corrected["intent"] == "complain" and corrected["department"] == "heating"
    assert corrected["request_type"] == "投诉" and "13812345678" not in corrected["message"]
    assert suggestion == {
        "message": "建议公积金线上提取",
        "request_type": "建议",
        "source": "correction",
    }
    assert order == {
        "message": "路口流动摊贩占道经营，我电话139****5678",
        "source": "workorder",
        "department": "urban_management",
        "request_type": "投诉",
    }
    # W5 (flagged by the platform), W6 (answered 需要保密) and W7 (read back with 保密)
    # are confidential: none of their words is in any row.
    assert not_secret["message"] == "广场舞音响声音太大，影响休息"
    exported = out.read_text(encoding="utf-8")
    assert not any(words in exported for words in ("楼道", "油烟", "烧烤"))
    assert "exported 4 training rows" in capsys.readouterr().out
