"""Messages (留言) citizens leave when no agent can take their conversation.

Outside service hours, or with nobody free, a citizen may leave a message instead of a
work order; agents see open messages in their console and answer on the citizen's
channel, or turn the message into a work order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import as_utc, beijing_iso, utcnow
from bot.conversation.transcript import TranscriptStore
from bot.handoff.actors import Actor, HandoffRefused, agent_text
from bot.handoff.outbound import Outbound
from bot.handoff.states import State
from bot.handoff.store import HandoffStore
from bot.storage import metadata

MAX_NOTE_CHARS = 2000

note_table = Table(
    "handoff_note",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(128), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("status", String(16), nullable=False, default="open"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("handled_by", Integer, nullable=True),
    Column("handled_by_name", String(64), nullable=False, default=""),
    Column("handled_at", DateTime(timezone=True), nullable=True),
    Column("reply", Text, nullable=False, default=""),
    Index("ix_handoff_note_status", "status", "created_at"),
)


class NoteStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"

    @property
    def label(self) -> str:
        return {NoteStatus.OPEN: "待回复", NoteStatus.ANSWERED: "已回复"}[self]


@dataclass(frozen=True)
class Note:
    id: int
    conversation_id: str
    channel: str
    text: str
    status: NoteStatus
    created_at: datetime
    handled_by_name: str = ""
    reply: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "text": self.text,
            "status": self.status.value,
            "status_label": self.status.label,
            "created_at": beijing_iso(self.created_at),
            "handled_by_name": self.handled_by_name,
            "reply": self.reply,
        }


class NoteStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, conversation_id: str, channel: str, text: str) -> Note:
        now = utcnow()
        async with self.engine.begin() as conn:
            result = await conn.execute(
                note_table.insert().values(
                    conversation_id=conversation_id,
                    channel=channel,
                    text=text[:MAX_NOTE_CHARS],
                    status=NoteStatus.OPEN.value,
                    created_at=now,
                )
            )
        key = result.inserted_primary_key
        assert key is not None
        note = await self.get(int(key[0]))
        assert note is not None
        return note

    async def get(self, note_id: int) -> Note | None:
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(select(note_table).where(note_table.c.id == note_id)))
                .mappings()
                .first()
            )
        return _note(row) if row else None

    async def open_notes(self, limit: int = 200) -> list[Note]:
        query = (
            select(note_table)
            .where(note_table.c.status == NoteStatus.OPEN.value)
            .order_by(note_table.c.created_at)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_note(row) for row in rows]

    async def answered_notes(self, limit: int = 20) -> list[Note]:
        """The latest answered notes, newest first: agents check what was replied."""
        query = (
            select(note_table)
            .where(note_table.c.status == NoteStatus.ANSWERED.value)
            .order_by(note_table.c.handled_at.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_note(row) for row in rows]

    async def answer(self, note_id: int, agent_id: int, agent_name: str, reply: str) -> bool:
        """Marks an open note answered; False when someone else answered it first."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(note_table)
                .where(note_table.c.id == note_id, note_table.c.status == NoteStatus.OPEN.value)
                .values(
                    status=NoteStatus.ANSWERED.value,
                    handled_by=agent_id,
                    handled_by_name=agent_name,
                    handled_at=utcnow(),
                    reply=reply,
                )
            )
        return bool(result.rowcount)


def _note(row: Any) -> Note:
    created = as_utc(row["created_at"])
    assert created is not None
    return Note(
        id=int(row["id"]),
        conversation_id=row["conversation_id"],
        channel=row["channel"],
        text=row["text"],
        status=NoteStatus(row["status"]),
        created_at=created,
        handled_by_name=row["handled_by_name"] or "",
        reply=row["reply"] or "",
    )


class NoteService:
    """Citizens leave messages; agents answer them on the citizen's channel."""

    def __init__(
        self,
        store: NoteStore,
        handoffs: HandoffStore,
        transcript: TranscriptStore,
        outbound: Outbound,
    ) -> None:
        self.store = store
        self.handoffs = handoffs
        self.transcript = transcript
        self.outbound = outbound

    async def leave(self, conversation_id: str, channel: str, text: str) -> Note:
        await self.handoffs.update_flags(conversation_id, awaiting_note=False)
        note = await self.store.add(conversation_id, channel, text)
        await self.transcript.append(
            conversation_id,
            channel,
            "system",
            f"市民留言（留言编号 {note.id}）",
            {"handoff": {"event": "note", "state": State.BOT.value}, "note_id": note.id},
        )
        await self.outbound.console("all", {"type": "notes"})
        return note

    async def answer(self, note_id: int, actor: Actor, reply: str) -> dict[str, Any]:
        reply = agent_text(reply)
        note = await self.store.get(note_id)
        if note is None:
            raise HandoffRefused("没有找到这条留言。", "not_found", 404)
        if not await self.store.answer(note_id, actor.user_id, actor.display_name, reply):
            raise HandoffRefused("这条留言已由其他同事回复。", "already_answered")
        result = await self.outbound.agent_says(
            note.conversation_id, note.channel, actor, reply, None
        )
        await self.outbound.console("all", {"type": "notes"})
        return {**result, "conversation_id": note.conversation_id, "reply": reply}
