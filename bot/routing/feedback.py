"""Learning from the field: supervisors' corrections and the units that really handled orders.

Two sources become training rows for ``routing train`` (and, through ``intent``, for NLU
training):

- corrections in the console: an NLU correction says which intent a message should have had
  (``nlu_correction``); a routing correction (``routing_correction``, written with
  :func:`record_correction`) says which request type and handling unit it should have had;
- closed work orders: the unit that finally handled an order, after any 退单 and 改派, is the
  right unit for its description, whatever the assistant first predicted. It comes from the
  platform's status webhooks the gateway records, so it works against any 12345 platform.
  Personal data is masked in every row, and an order the citizen asked to keep confidential
  (保密) never becomes a row: neither when any of its events says so (``confidential``) nor
  when its conversation shows the intake's read-back with 保密 (for platforms that do not
  send the flag).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
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
from bot.storage import create_engine, metadata

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


@dataclass(frozen=True)
class RoutingCorrection:
    request_type: str | None
    department: str | None  # a catalogue department id
    corrected_by: str
    corrected_at: datetime


async def corrections_of(
    engine: AsyncEngine, transcript_ids: Collection[int]
) -> dict[int, RoutingCorrection]:
    """The newest verdict per message, so the conversation view shows what was decided."""
    if not transcript_ids:
        return {}
    r = routing_correction_table.c
    async with engine.connect() as conn:
        if not await conn.run_sync(
            lambda sync: inspect(sync).has_table(routing_correction_table.name)
        ):
            return {}
        found = await conn.execute(
            select(r.transcript_id, r.request_type, r.department, r.corrected_by, r.corrected_at)
            .where(r.transcript_id.in_(list(transcript_ids)))
            .order_by(r.id)
        )
        return {
            int(row.transcript_id): RoutingCorrection(
                row.request_type, row.department, row.corrected_by, row.corrected_at
            )
            for row in found.all()
        }


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


# The intake's read-back before filing (``bot.workorders.dialogue.summary.summary_text``:
# "个人信息保密：是") and the confidentiality prompt's button (``dialogue/prompts.py``).
_SECRECY_READ_BACK = re.compile(r"保密[：:]\s*是")
_SECRECY_ANSWER = "需要保密"


def _asked_secrecy(role: str, text: str) -> bool:
    """Whether this turn of the filing conversation shows the citizen asked for 保密."""
    if role == "bot":
        return bool(_SECRECY_READ_BACK.search(text))
    return role == "citizen" and text.strip() == _SECRECY_ANSWER


async def closed_order_rows(engine: AsyncEngine, labels: Labels) -> list[dict[str, Any]]:
    """Closed orders with the unit that finally handled them, as a catalogue id.

    Read from what any 12345 platform tells the gateway, never from a platform's tables: the
    status webhooks the console records (``workorder_event_log``, folded in order, so the
    unit after 退单 and 改派 wins and a rework after a bad rating reopens the order) and the
    conversation that filed the order. Its longest citizen message stands for the matter:
    answers to the intake's questions (name, phone, 是的) are short. Conversations already
    anonymised by retention are left out, and so is every confidential (保密) order: one
    that any event said was confidential, or whose conversation shows the citizen asked for
    保密 (the platform may not send the flag). When in doubt an order is left out: a row
    lost costs little, a confidential complaint in training data cannot be taken back.
    """
    from bot.console.tables import conversation_table as conversation
    from bot.console.workorders import event_log
    from bot.conversation.transcript import transcript_table as transcript

    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        if not {event_log.name, conversation.name, transcript.name} <= tables:
            return []
        e = event_log.c
        events = await conn.execute(
            select(e.order_no, e.status, e.department, e.request_type, e.confidential).order_by(
                e.order_no, e.at, e.received_at
            )
        )
        latest: dict[str, tuple[str, str, str]] = {}
        confidential: set[str] = set()
        for order_no, status, department, kind, secret in events.all():
            known_kind = latest.get(order_no, ("", "", ""))[2]
            latest[order_no] = (status, department, kind or known_kind)
            if secret:
                confidential.add(order_no)
        closed = {
            no: (unit, kind)
            for no, (status, unit, kind) in latest.items()
            if status == "closed" and no not in confidential
        }
        if not closed:
            return []
        said = await conn.execute(
            select(conversation.c.workorder_no, transcript.c.role, transcript.c.text)
            .join(transcript, transcript.c.conversation_id == conversation.c.conversation_id)
            .where(
                conversation.c.workorder_no.in_(closed),
                conversation.c.anonymised.is_(False),
                transcript.c.role.in_(("citizen", "bot")),
            )
        )
        described: dict[str, str] = {}
        for order_no, role, text in said.all():
            if _asked_secrecy(role, text or ""):
                confidential.add(order_no)
            elif role == "citizen" and len(text or "") > len(described.get(order_no, "")):
                described[order_no] = text
    rows: list[dict[str, Any]] = []
    for order_no, text in sorted(described.items()):
        if order_no in confidential:
            continue
        department, kind = closed[order_no]
        row: dict[str, Any] = {"message": mask_personal_data(text), "source": "workorder"}
        unit = labels.department(department)
        if unit:
            row["department"] = unit
        if kind and labels.type_group(kind):
            row["request_type"] = kind
        if len(row) > 2:
            rows.append(row)
    return rows


async def export_training(settings: Settings, out: Path) -> Counter[str]:
    """Writes every field row to ``out`` (JSONL) and returns the count per source."""
    labels = Labels(LabelMapping.load(LABEL_MAPPING), load_catalogue(settings.routing_catalogue))
    engine = create_engine(settings)
    try:
        rows = await correction_rows(engine) + await closed_order_rows(engine, labels)
    finally:
        await engine.dispose()
    write_rows(out, rows)
    return Counter(str(row["source"]) for row in rows)
