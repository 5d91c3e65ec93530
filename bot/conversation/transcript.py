"""The complete transcript of every conversation, kept by the gateway.

Human agents' turns never pass through Rasa, so Rasa's tracker is not the full record;
this table is. Every citizen turn is written before it is forwarded, so nothing a
citizen sent is lost when the dialogue engine is down.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage import metadata, write_transaction

logger = logging.getLogger(__name__)

transcript_table = Table(
    "transcript",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(128), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("role", String(16), nullable=False),  # citizen | bot | agent | system
    Column("text", Text, nullable=False, default=""),
    Column("data", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_transcript_conversation", "conversation_id", "id"),
)


class TranscriptObserver(Protocol):
    """Told about each row once committed (e.g. the supervisor console's conversation index).

    A failing observer is logged and never fails the turn: the row is already on record.
    """

    async def appended(self, row: dict[str, Any]) -> None: ...

    async def annotated(self, row_id: int, data: dict[str, Any]) -> None: ...


class TranscriptStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.observers: list[TranscriptObserver] = []

    async def append(
        self,
        conversation_id: str,
        channel: str,
        role: str,
        text: str,
        data: dict[str, Any] | None = None,
    ) -> int:
        """Appends one turn and returns its row id."""
        row: dict[str, Any] = {
            "conversation_id": conversation_id,
            "channel": channel,
            "role": role,
            "text": text,
            "data": data,
            "created_at": datetime.now(UTC),
        }
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(transcript_table.insert().values(**row))
        key = result.inserted_primary_key
        assert key is not None
        row_id = int(key[0])
        row["id"] = row_id
        for observer in self.observers:
            try:
                await observer.appended(row)
            except Exception:
                logger.exception("transcript observer failed on row %s", row_id)
        return row_id

    async def annotate(self, row_id: int, data: dict[str, Any]) -> None:
        """Merges what was learnt after the turn was written (e.g. the NLU result) into it."""
        async with write_transaction(self.engine) as conn:
            current = await conn.scalar(
                select(transcript_table.c.data).where(transcript_table.c.id == row_id)
            )
            await conn.execute(
                transcript_table.update()
                .where(transcript_table.c.id == row_id)
                .values(data={**(current or {}), **data})
            )
        for observer in self.observers:
            try:
                await observer.annotated(row_id, data)
            except Exception:
                logger.exception("transcript observer failed on row %s", row_id)

    async def history(self, conversation_id: str, limit: int = 500) -> list[dict[str, Any]]:
        query = (
            select(transcript_table)
            .where(transcript_table.c.conversation_id == conversation_id)
            .order_by(transcript_table.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [dict(row) for row in rows]

    async def latest(self, conversation_id: str, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` rows, oldest first: a reopened page shows where the
        conversation stands, which in a long one is its end, not its start."""
        query = (
            select(transcript_table)
            .where(transcript_table.c.conversation_id == conversation_id)
            .order_by(transcript_table.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [dict(row) for row in reversed(rows)]
