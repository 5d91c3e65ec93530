"""The complete transcript of every conversation, kept by the gateway.

Human agents' turns never pass through Rasa, so Rasa's tracker is not the full record;
this table is. Every citizen turn is written before it is forwarded, so nothing a
citizen sent is lost when the dialogue engine is down.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Mapping, Sequence
from contextvars import Context
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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


# Built once: they run in every turn, and building a statement costs more than running it.
_INSERT = transcript_table.insert().returning(transcript_table.c.id, sort_by_parameter_order=True)
_DATA = select(transcript_table.c.data).where(transcript_table.c.id == bindparam("row_id"))
_SET_DATA = (
    transcript_table.update()
    .where(transcript_table.c.id == bindparam("row_id"))
    .values(data=bindparam("p_data", type_=transcript_table.c.data.type))
)


async def merge_data(conn: AsyncConnection, row_id: int, data: dict[str, Any]) -> None:
    """Merges ``data`` into a row's data (its keys replace the row's), in the caller's
    transaction: the console's event stream records a turn and its summary together."""
    current = await conn.scalar(_DATA, {"row_id": row_id})
    await conn.execute(_SET_DATA, {"row_id": row_id, "p_data": {**(current or {}), **data}})


class TranscriptObserver(Protocol):
    """Told about each write once committed: ``observers`` before the write returns,
    ``live`` ones (the handoff's rows for agents' consoles) right after, in commit order,
    so that they do not hold up the citizen's answer.

    A failing observer is logged and never fails the turn: the row is already on record.
    """

    async def appended(self, rows: Sequence[dict[str, Any]]) -> None:
        """The rows of one write, in order: all of one conversation."""
        ...

    async def annotated(self, row_id: int, data: dict[str, Any]) -> None: ...


class TranscriptIndex(Protocol):
    """Tables derived from the transcript (the console's conversation index), written in
    the transaction that writes the rows: the index never disagrees with the transcript,
    and a turn costs one commit instead of one per row and per table. A failing index
    never costs a row: the rows are written again without it (logged), and ``python -m
    bot supervisor reindex`` catches the index up."""

    async def apply_row(self, conn: AsyncConnection, row: Mapping[str, Any]) -> object: ...

    async def annotate_row(
        self, conn: AsyncConnection, row_id: int, data: Mapping[str, Any]
    ) -> None: ...


@dataclass(frozen=True)
class NewRow:
    role: str  # citizen | bot | agent | system
    text: str
    data: dict[str, Any] | None = None


Annotation = tuple[int, dict[str, Any]]
"""A row id and what to merge into that row's data."""


class TranscriptStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.indexes: list[TranscriptIndex] = []
        self.observers: list[TranscriptObserver] = []
        self.live: list[TranscriptObserver] = []
        self._news: deque[tuple[list[dict[str, Any]], Annotation | None]] = deque()
        self._telling: asyncio.Task[None] | None = None

    async def append(
        self,
        conversation_id: str,
        channel: str,
        role: str,
        text: str,
        data: dict[str, Any] | None = None,
    ) -> int:
        """Appends one turn and returns its row id."""
        [row_id] = await self.record(conversation_id, channel, [NewRow(role, text, data)])
        return row_id

    async def annotate(self, row_id: int, data: dict[str, Any]) -> None:
        """Merges what was learnt after the turn was written (e.g. the NLU result) into it."""
        await self._store([], (row_id, data))

    async def record(
        self,
        conversation_id: str,
        channel: str,
        rows: Sequence[NewRow],
        annotation: Annotation | None = None,
        *,
        synced: bool = True,
    ) -> list[int]:
        """Appends rows of one conversation (a turn's replies) and merges ``annotation``
        into an earlier row (the citizen's, with what Rasa understood), all in one
        transaction; returns the new rows' ids.

        ``synced=False``: the commit survives the gateway dying at once and a power cut
        from the next synced commit on (SQLite; see :func:`bot.storage.write_transaction`),
        which spares the citizen's wait an ``fsync``."""
        new: list[dict[str, Any]] = [
            {
                "conversation_id": conversation_id,
                "channel": channel,
                "role": row.role,
                "text": row.text,
                "data": row.data,
                "created_at": datetime.now(UTC),
            }
            for row in rows
        ]
        await self._store(new, annotation, synced)
        return [int(row["id"]) for row in new]

    async def _store(
        self, rows: list[dict[str, Any]], annotation: Annotation | None, synced: bool = True
    ) -> None:
        if not rows and annotation is None:
            return
        try:
            await self._write(rows, annotation, self.indexes, synced)
        except Exception:
            if not self.indexes:
                raise
            logger.exception("writing the transcript with its index failed: writing it alone")
            await self._write(rows, annotation, (), synced)
        await _tell(self.observers, rows, annotation)
        if self.live:
            self._news.append((rows, annotation))
            if self._telling is None or self._telling.done():
                # A context of its own: its logs are not the current conversation's.
                self._telling = asyncio.create_task(self._tell_live(), context=Context())

    async def settled(self) -> None:
        """Returns once the live observers were told of every row written so far."""
        if self._telling is not None:
            await self._telling

    async def _tell_live(self) -> None:
        while self._news:
            rows, annotation = self._news.popleft()
            await _tell(self.live, rows, annotation)

    async def _write(
        self,
        rows: list[dict[str, Any]],
        annotation: Annotation | None,
        indexes: Sequence[TranscriptIndex],
        synced: bool,
    ) -> None:
        async with write_transaction(self.engine, inline=True, deferred_sync=not synced) as conn:
            if annotation is not None:
                await merge_data(conn, *annotation)
                for index in indexes:
                    await index.annotate_row(conn, *annotation)
            if not rows:
                return
            for row in rows:
                row.pop("id", None)  # set by a first try that failed
            ids = await conn.scalars(_INSERT, rows)  # one statement for all the rows
            for row, row_id in zip(rows, ids, strict=True):
                row["id"] = int(row_id)
                for index in indexes:
                    await index.apply_row(conn, row)

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


async def _tell(
    observers: Sequence[TranscriptObserver],
    rows: list[dict[str, Any]],
    annotation: Annotation | None,
) -> None:
    if annotation is not None:
        for observer in observers:
            await _survive(observer.annotated(*annotation), annotation[0])
    if rows:
        for observer in observers:
            await _survive(observer.appended(rows), rows[0]["id"])


async def _survive(call: Awaitable[None], row_id: int) -> None:
    try:
        await call
    except Exception:
        logger.exception("transcript observer failed on row %s", row_id)
