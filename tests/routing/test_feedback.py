"""Field corrections and finally handling units become training rows ``routing train`` takes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from bot.__main__ import main
from bot.console.tables import nlu_correction_table
from bot.routing.feedback import record_correction
from bot.storage import create_engine, create_tables, open_engine
from bot.workorder_service.store import metadata as workorder_metadata
from bot.workorder_service.store import orders
from tests.routing.learned_fixtures import tiny_settings


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
    await engine.dispose()
    orders_engine = open_engine(None, settings.var_dir / "workorders.db")
    async with orders_engine.begin() as conn:
        await conn.run_sync(workorder_metadata.create_all)
        for number, status, unit, confidential in (
            # Sent first to the 热力公司, returned (退单) and reassigned (改派): the unit at close counts.
            ("W1", "closed", "济南市城市管理局", False),
            ("W2", "handling", "济南市城市管理局", False),  # not closed: not yet known
            ("W3", "closed", "济南市城市管理局", True),  # the citizen asked for confidentiality
        ):
            await conn.execute(
                orders.insert().values(
                    order_no=number,
                    request={"content": "路口流动摊贩占道经营", "request_type": "投诉"},
                    status=status,
                    department=unit,
                    confidential=confidential,
                    accepted_at=now,
                    updated_at=now,
                )
            )
    await orders_engine.dispose()


def test_export_training_rows(tmp_path: Path, monkeypatch, capsys) -> None:
    asyncio.run(_seed(tmp_path))
    for key, value in tiny_settings(tmp_path).to_env().items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "field.jsonl"
    assert main(["routing", "export-training", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    corrected, suggestion, order = rows
    assert corrected["intent"] == "complain" and corrected["department"] == "heating"
    assert corrected["request_type"] == "投诉" and "13812345678" not in corrected["message"]
    assert suggestion == {
        "message": "建议公积金线上提取",
        "request_type": "建议",
        "source": "correction",
    }
    assert order == {
        "message": "路口流动摊贩占道经营",
        "source": "workorder",
        "department": "urban_management",
        "request_type": "投诉",
    }
    assert "exported 3 training rows" in capsys.readouterr().out
