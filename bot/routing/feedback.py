"""Learning from the field: supervisors' corrections and the units that really handled orders.

Two sources become training rows for ``routing train`` (and, through ``intent``, for NLU
training):

- corrections in the console: an NLU correction says which intent a message should have had
  (``nlu_correction``); a routing correction (``routing_correction``, written with
  :func:`record_correction`) says which request type and handling unit it should have had;
- closed work orders: the unit that finally handled an order, after any 退单 and 改派, is the
  right unit for its description, whatever the assistant first predicted. Orders the citizen
  asked to keep confidential are left out, and personal data is masked in every row.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Integer, String, Table, Text, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.privacy import mask_personal_data
from bot.routing.catalogue import load_catalogue
from bot.routing.evaluation import LabelMapping
from bot.routing.history import LABEL_MAPPING, Labels, write_rows
from bot.settings import Settings
from bot.storage import create_engine, metadata, open_engine

logger = logging.getLogger(__name__)

routing_correction_table = Table(
    "routing_correction",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("transcript_id", Integer, nullable=True),
    Column("text", Text, nullable=False),
    Column("request_type", String(16), nullable=True),
    Column("department", String(64), nullable=True),  # a catalogue department id
    Column("corrected_by", String(64), nullable=False),
    Column("corrected_at", DateTime(timezone=True), nullable=False),
)


async def record_correction(
    engine: AsyncEngine,
    text: str,
    corrected_by: str,
    *,
    request_type: str | None = None,
    department: str | None = None,
    transcript_id: int | None = None,
) -> None:
    """Stores a supervisor's verdict on a message's type and/or handling unit."""
    if request_type is None and department is None:
        raise ValueError("a routing correction needs a request type or a department")
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: routing_correction_table.create(sync, checkfirst=True))
        await conn.execute(
            routing_correction_table.insert().values(
                transcript_id=transcript_id,
                text=text,
                request_type=request_type,
                department=department,
                corrected_by=corrected_by,
                corrected_at=datetime.now(UTC),
            )
        )


async def correction_rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    """One row per corrected message: the newest intent, type and unit given for its text."""
    merged: dict[str, dict[str, Any]] = {}
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        if "nlu_correction" in tables:
            from bot.console.tables import nlu_correction_table as nlu

            found = await conn.execute(select(nlu.c.text, nlu.c.intent).order_by(nlu.c.id))
            for text, intent in found.all():
                merged.setdefault(text, {})["intent"] = intent
        if routing_correction_table.name in tables:
            r = routing_correction_table.c
            verdicts = await conn.execute(
                select(r.text, r.request_type, r.department).order_by(r.id)
            )
            for text, kind, unit in verdicts.all():
                row = merged.setdefault(text, {})
                if kind:
                    row["request_type"] = kind
                if unit:
                    row["department"] = unit
    return [
        {"message": mask_personal_data(text), **labels, "source": "correction"}
        for text, labels in merged.items()
    ]


async def closed_order_rows(engine: AsyncEngine, labels: Labels) -> list[dict[str, Any]]:
    """Closed orders with the unit that finally handled them, as a catalogue id."""
    from bot.workorder_service.store import orders

    async with engine.connect() as conn:
        if not await conn.run_sync(lambda sync: inspect(sync).has_table(orders.name)):
            return []
        o = orders.c
        found = await conn.execute(
            select(o.request, o.department, o.confidential).where(o.status == "closed")
        )
        rows: list[dict[str, Any]] = []
        for request, department, confidential in found.all():
            content = (request or {}).get("content") if isinstance(request, dict) else None
            if confidential or not isinstance(content, str) or not content.strip():
                continue
            row: dict[str, Any] = {"message": mask_personal_data(content), "source": "workorder"}
            unit = labels.department(department)
            if unit:
                row["department"] = unit
            kind = request.get("request_type")
            if isinstance(kind, str) and labels.type_group(kind):
                row["request_type"] = kind
            if len(row) > 2:
                rows.append(row)
        return rows


def _workorder_engine(settings: Settings) -> AsyncEngine | None:
    url = settings.workorder_database_url or settings.database_url
    path = settings.var_dir / "workorders.db"
    if not url and not path.exists():
        return None
    return open_engine(url, path)


async def export_training(settings: Settings, out: Path) -> Counter[str]:
    """Writes every field row to ``out`` (JSONL) and returns the count per source."""
    labels = Labels(LabelMapping.load(LABEL_MAPPING), load_catalogue(settings.routing_catalogue))
    rows: list[dict[str, Any]] = []
    engine = create_engine(settings)
    try:
        rows.extend(await correction_rows(engine))
    finally:
        await engine.dispose()
    orders_engine = _workorder_engine(settings)
    if orders_engine is not None:
        try:
            rows.extend(await closed_order_rows(orders_engine, labels))
        finally:
            await orders_engine.dispose()
    write_rows(out, rows)
    return Counter(str(row["source"]) for row in rows)
