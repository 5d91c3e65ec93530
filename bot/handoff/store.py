"""Where the handoff state lives: one row per conversation, one row per handoff episode.

The state is in the project database (SQLite or PostgreSQL), not in process memory, so
every gateway replica agrees on who holds a conversation. Each move is a compare-and-set
on the row's version: when two agents claim the same conversation at the same moment,
exactly one update matches and the other is told the conversation is taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import as_utc, beijing_iso, utcnow
from bot.handoff.states import Event, State, transition
from bot.storage import metadata, quick_read

handoff_table = Table(
    "handoff",
    metadata,
    Column("conversation_id", String(128), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("state", String(16), nullable=False, default=State.BOT.value),
    Column("reason", String(32), nullable=False, default=""),
    Column("agent_id", Integer, nullable=True),
    Column("agent_name", String(64), nullable=False, default=""),
    Column("requested_at", DateTime(timezone=True), nullable=True),
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("episode_id", Integer, nullable=True),
    Column("summary", Text, nullable=False, default=""),
    Column("fallback_streak", Integer, nullable=False, default=0),
    Column("awaiting_note", Boolean, nullable=False, default=False),
    Column("rasa_paused", Boolean, nullable=False, default=False),
    Column("version", Integer, nullable=False, default=0),
    Index("ix_handoff_state", "state", "requested_at"),
)

episode_table = Table(
    "handoff_episode",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(128), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("reason", String(32), nullable=False, default=""),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("agent_id", Integer, nullable=True),
    Column("outcome", String(16), nullable=False, default=""),
    Column("wrap_up", String(32), nullable=False, default=""),
    Column("wrap_up_note", Text, nullable=False, default=""),
    Index("ix_handoff_episode_conversation", "conversation_id"),
    Index("ix_handoff_episode_ended", "ended_at"),
)

# Read in every turn (the handoff gate, the live view): built once.
_BY_CONVERSATION = select(handoff_table).where(
    handoff_table.c.conversation_id == bindparam("conversation_id")
)


@dataclass(frozen=True)
class Handoff:
    conversation_id: str
    channel: str
    state: State
    reason: str = ""
    agent_id: int | None = None
    agent_name: str = ""
    requested_at: datetime | None = None
    claimed_at: datetime | None = None
    updated_at: datetime | None = None
    episode_id: int | None = None
    summary: str = ""
    fallback_streak: int = 0
    awaiting_note: bool = False
    rasa_paused: bool = False
    version: int = 0

    @classmethod
    def of(cls, row: Any) -> Handoff:
        """From a database row (a RowMapping)."""
        return cls(
            conversation_id=row["conversation_id"],
            channel=row["channel"],
            state=State(row["state"]),
            reason=row["reason"] or "",
            agent_id=row["agent_id"],
            agent_name=row["agent_name"] or "",
            requested_at=as_utc(row["requested_at"]),
            claimed_at=as_utc(row["claimed_at"]),
            updated_at=as_utc(row["updated_at"]),
            episode_id=row["episode_id"],
            summary=row["summary"] or "",
            fallback_streak=int(row["fallback_streak"] or 0),
            awaiting_note=bool(row["awaiting_note"]),
            rasa_paused=bool(row["rasa_paused"]),
            version=int(row["version"] or 0),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "state": self.state.value,
            "state_label": self.state.label,
            "reason": self.reason,
            "agent_id": self.agent_id,
            "agent_name": self.agent_name,
            "requested_at": beijing_iso(self.requested_at),
            "claimed_at": beijing_iso(self.claimed_at),
            "summary": self.summary,
        }


class ConcurrentChange(Exception):
    """Someone else changed the conversation first; the caller reads it again."""


class HandoffStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def get(self, conversation_id: str) -> Handoff | None:
        async with quick_read(self.engine) as conn:
            found = await conn.execute(_BY_CONVERSATION, {"conversation_id": conversation_id})
            row = found.mappings().first()
        return Handoff.of(row) if row else None

    async def ensure(self, conversation_id: str, channel: str) -> Handoff:
        """The conversation's row, created in state ``bot`` when it has none yet."""
        existing = await self.get(conversation_id)
        if existing is not None:
            return existing
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    handoff_table.insert().values(
                        conversation_id=conversation_id,
                        channel=channel,
                        state=State.BOT.value,
                        updated_at=utcnow(),
                        version=0,
                    )
                )
        except IntegrityError:
            pass  # created by a concurrent turn: fine, read it
        created = await self.get(conversation_id)
        assert created is not None
        return created

    async def move(
        self,
        current: Handoff,
        event: Event,
        values: Mapping[str, Any],
        episode: Mapping[str, Any] | None = None,
    ) -> Handoff:
        """Applies ``event`` to ``current`` if nobody changed the row since it was read.

        ``episode`` values start a new episode (on ``requested``) or update the current one.
        Raises InvalidTransition for a move the state machine forbids and ConcurrentChange
        when the row moved on in between.
        """
        target = transition(event, current.state)
        now = utcnow()
        async with self.engine.begin() as conn:
            episode_id = current.episode_id
            if event is Event.REQUESTED:
                episode_id = await self._start_episode(conn, current, values, now)
            elif episode and episode_id is not None:
                await conn.execute(
                    update(episode_table).where(episode_table.c.id == episode_id).values(**episode)
                )
            result = await conn.execute(
                update(handoff_table)
                .where(
                    handoff_table.c.conversation_id == current.conversation_id,
                    handoff_table.c.version == current.version,
                )
                .values(
                    state=target.value,
                    updated_at=now,
                    episode_id=episode_id,
                    version=current.version + 1,
                    **values,
                )
            )
            if result.rowcount != 1:
                raise ConcurrentChange(current.conversation_id)
        moved = await self.get(current.conversation_id)
        assert moved is not None
        return moved

    async def _start_episode(
        self, conn: AsyncConnection, current: Handoff, values: Mapping[str, Any], now: datetime
    ) -> int:
        result = await conn.execute(
            episode_table.insert().values(
                conversation_id=current.conversation_id,
                channel=current.channel,
                reason=str(values.get("reason", "")),
                requested_at=now,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def update_flags(self, conversation_id: str, **values: Any) -> None:
        """Bookkeeping that is not a state change (fallback streak, 留言 capture, tracker)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(handoff_table)
                .where(handoff_table.c.conversation_id == conversation_id)
                .values(**values)
            )

    async def bump_fallback(self, conversation_id: str, channel: str) -> int:
        """One more misunderstood message in a row; returns the streak."""
        await self.ensure(conversation_id, channel)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(handoff_table)
                .where(handoff_table.c.conversation_id == conversation_id)
                .values(fallback_streak=handoff_table.c.fallback_streak + 1)
            )
            streak = await conn.scalar(
                select(handoff_table.c.fallback_streak).where(
                    handoff_table.c.conversation_id == conversation_id
                )
            )
        return int(streak or 0)

    async def reset_fallback(self, conversation_id: str) -> None:
        """Runs on every understood turn, so it only writes when there is a streak to end."""
        async with self.engine.connect() as conn:
            streak = await conn.scalar(
                select(handoff_table.c.fallback_streak).where(
                    handoff_table.c.conversation_id == conversation_id
                )
            )
        if not streak:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                update(handoff_table)
                .where(
                    handoff_table.c.conversation_id == conversation_id,
                    handoff_table.c.fallback_streak > 0,
                )
                .values(fallback_streak=0)
            )

    async def in_state(self, state: State, agent_id: int | None = None) -> list[Handoff]:
        """Conversations in ``state``, longest waiting first (optionally one agent's)."""
        query = select(handoff_table).where(handoff_table.c.state == state.value)
        if agent_id is not None:
            query = query.where(handoff_table.c.agent_id == agent_id)
        query = query.order_by(handoff_table.c.requested_at, handoff_table.c.conversation_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [Handoff.of(row) for row in rows]

    async def held_counts(self) -> dict[int, int]:
        """How many conversations each agent holds right now."""
        query = (
            select(handoff_table.c.agent_id, func.count())
            .where(handoff_table.c.state == State.WITH_AGENT.value)
            .group_by(handoff_table.c.agent_id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {int(agent): int(count) for agent, count in rows if agent is not None}

    async def recent_handle_minutes(self, sample: int) -> list[float]:
        """How long agents spent on the most recent finished episodes, in minutes."""
        query = (
            select(episode_table.c.claimed_at, episode_table.c.ended_at)
            .where(episode_table.c.claimed_at.is_not(None), episode_table.c.ended_at.is_not(None))
            .order_by(episode_table.c.ended_at.desc())
            .limit(sample)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        minutes = []
        for claimed, ended in rows:
            start, end = as_utc(claimed), as_utc(ended)
            if start is not None and end is not None and end >= start:
                minutes.append((end - start).total_seconds() / 60)
        return minutes

    async def episodes(self, conversation_id: str) -> list[dict[str, Any]]:
        query = (
            select(episode_table)
            .where(episode_table.c.conversation_id == conversation_id)
            .order_by(episode_table.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [dict(row) for row in rows]
