"""The console's NLU facts from Rasa's event stream (``RABBITMQ_URL``), applied exactly once.

With a broker, Rasa publishes every tracker event (``user``, ``action``, ``bot``, …, each
with ``sender_id`` and ``timestamp``) and the gateway no longer writes what Rasa
understood into the transcript itself: this module does, from the stream. The gateway puts
the citizen's transcript row id in the message metadata (``transcript_id``), Rasa copies it
into the user event, and a turn — the user event and what follows it up to
``action_listen`` (``bot.rasa_turn``, the rules the gateway's Rasa channel uses too) —
becomes the row's ``data.nlu`` {intent, confidence, entities, actions} and, through
``ConversationIndex.annotate_row``, the conversation's summary and metrics.

Delivery is at least once and, with several gateways consuming one queue, in no particular
order between them. So:

- each event is handled in one database transaction that also records it
  (``console_stream_event``, unique per sender and event identity) and is acknowledged only
  after the commit: a redelivered, duplicated or replayed event finds itself recorded and
  changes nothing; a crash before the commit leaves it for redelivery;
- events of one conversation are handled one at a time (an advisory lock per sender on
  PostgreSQL; SQLite has one writer anyway);
- a turn is put together from the recorded events, so a restart mid-turn loses nothing,
  and again whenever one of its events arrives: the user event's NLU result is recorded at
  once, the actions when the turn is complete, and an action arriving after its turn was
  summarised corrects the summary (``console_stream_turn`` remembers what was applied);
- what is applied is itself idempotent (merging the same ``nlu`` into the row, and the
  index's monotone NLU facts), so a replay of events whose records were already pruned
  (after a day) leaves the same state as the first delivery.

The records hold event identities, action names and row ids, never citizen text or entity
values; these stay in the transcript, where retention and erasure find them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    and_,
    delete,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import utcnow
from bot.console.index import ConversationIndex
from bot.conversation.service import TRANSCRIPT_KEY
from bot.conversation.transcript import merge_data, transcript_table
from bot.rasa_turn import ACTION_LISTEN, action_of, collapse, understanding
from bot.storage import dialect_insert, metadata, write_transaction

logger = logging.getLogger(__name__)

KEPT = timedelta(days=1)
"""How long event records are kept: redeliveries and late events come well within it."""
_PRUNE_EVERY = 1000  # events handled between two prunings
_TURN_EVENTS = 200  # Rasa stops a turn after 10 predictions: a turn is far shorter
_SENDER_CHARS = 128  # as the transcript's conversation_id: longer ones are not ours

stream_event_table = Table(
    "console_stream_event",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sender_id", String(_SENDER_CHARS), nullable=False),
    Column("event_key", String(64), nullable=False),
    Column("kind", String(8), nullable=False),  # user | action | bot | listen
    Column("name", String(128), nullable=True),  # what it adds to its turn's actions
    Column("transcript_id", Integer, nullable=True),  # user events the gateway sent
    Column("ts", Float, nullable=False),  # Rasa's timestamp: the order within a tracker
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("sender_id", "event_key", name="uq_console_stream_event"),
    Index("ix_console_stream_event_sender_ts", "sender_id", "ts", "id"),
    Index("ix_console_stream_event_received", "received_at"),
)

stream_turn_table = Table(
    "console_stream_turn",
    metadata,
    Column("sender_id", String(_SENDER_CHARS), nullable=False),
    Column("user_key", String(64), nullable=False),  # its user event's event_key
    Column("actions_digest", String(64), nullable=False),  # of the actions applied
    Column("applied_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("sender_id", "user_key"),
    Index("ix_console_stream_turn_applied", "applied_at"),
)


class EventFeed(Protocol):
    """Rasa's published events, delivered at least once (``connectors.rabbitmq``).

    ``run`` calls ``handle`` with each event's body and acknowledges the event only after
    ``handle`` returned; an event whose ``handle`` raised is delivered again. It runs until
    cancelled.
    """

    async def run(self, handle: Callable[[Mapping[str, Any]], Awaitable[None]]) -> None: ...


@dataclass(frozen=True)
class StreamEvent:
    """The part of a published event that a turn needs."""

    sender_id: str
    key: str
    kind: str
    name: str | None = None
    ts: float = 0.0
    transcript_id: int | None = None
    nlu: Mapping[str, Any] | None = None  # a user event's NLU result; never recorded


@dataclass(frozen=True)
class TurnStart:
    """A recorded user event: where a turn starts."""

    sender_id: str
    id: int
    key: str
    ts: float
    transcript_id: int | None


def read_event(body: Mapping[str, Any]) -> StreamEvent | None:
    """None for events no turn needs (slots, session starts, bot messages not uttered by
    name) and for malformed ones."""
    sender, ts, kind = body.get("sender_id"), body.get("timestamp"), body.get("event")
    if not isinstance(sender, str) or not 0 < len(sender) <= _SENDER_CHARS:
        return None
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return None
    name = action_of(body)
    row: object = None
    nlu: dict[str, Any] | None = None
    if kind == "user":
        meta = body.get("metadata")
        row = meta.get(TRANSCRIPT_KEY) if isinstance(meta, Mapping) else None
        parse = body.get("parse_data")
        nlu = understanding(parse if isinstance(parse, Mapping) else {})
    elif kind == "action" and body.get("name") == ACTION_LISTEN:
        kind = "listen"
    elif name is None:
        return None
    # Identity, not the whole body: a replay (``rasa export``) may serialise other fields
    # differently. Two equal events at one instant add nothing to a turn's actions.
    identity = [kind, ts, body.get("name"), body.get("text"), body.get("message_id"), name]
    key = hashlib.sha256(json.dumps(identity, ensure_ascii=False).encode()).hexdigest()
    return StreamEvent(
        sender_id=sender,
        key=key,
        kind=str(kind),
        name=name[:128] if name else None,
        ts=float(ts),
        transcript_id=row if isinstance(row, int) and not isinstance(row, bool) else None,
        nlu=nlu,
    )


class TurnStream:
    """Folds Rasa's events into the transcript's NLU annotations and the console index."""

    def __init__(self, engine: AsyncEngine, index: ConversationIndex) -> None:
        self.engine = engine
        self.index = index
        self._handled = 0

    async def follow(self, feed: EventFeed) -> None:
        await feed.run(self.handle)

    async def handle(self, body: Mapping[str, Any]) -> None:
        """One delivered event; returns once its effects are committed (or it had none)."""
        event = read_event(body)
        if event is None:
            return
        async with write_transaction(self.engine) as conn:
            await _lock_sender(conn, event.sender_id)
            event_id = await self._record(conn, event)
            if event_id is None:
                return  # delivered before: its effects are committed
            if event.transcript_id is not None and event.nlu is not None:
                await self._understood(conn, event.sender_id, event.transcript_id, event.nlu)
            for start in await self._turns_touched(conn, event, event_id):
                await self._summarise(conn, start)
        self._handled += 1
        if self._handled % _PRUNE_EVERY == 0:
            await self.prune(utcnow() - KEPT)

    async def prune(self, before: datetime) -> None:
        async with write_transaction(self.engine) as conn:
            await conn.execute(
                delete(stream_event_table).where(stream_event_table.c.received_at < before)
            )
            await conn.execute(
                delete(stream_turn_table).where(stream_turn_table.c.applied_at < before)
            )

    # -- internals ------------------------------------------------------------------------

    async def _record(self, conn: AsyncConnection, event: StreamEvent) -> int | None:
        """The new record's id; None when the event was recorded before."""
        t = stream_event_table
        inserted = await conn.scalar(
            dialect_insert(conn.dialect.name)(t)
            .values(
                sender_id=event.sender_id,
                event_key=event.key,
                kind=event.kind,
                name=event.name,
                transcript_id=event.transcript_id,
                ts=event.ts,
                received_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["sender_id", "event_key"])
            .returning(t.c.id)
        )
        return None if inserted is None else int(inserted)

    async def _turns_touched(
        self, conn: AsyncConnection, event: StreamEvent, event_id: int
    ) -> list[TurnStart]:
        """The turn the event belongs to and, for a user event, the turn before it, which
        it may end (when that turn's ``action_listen`` never came or is still on its way)."""
        t = stream_event_table
        query = (
            select(t.c.id, t.c.event_key, t.c.ts, t.c.transcript_id)
            .where(t.c.sender_id == event.sender_id, t.c.kind == "user")
            .order_by(t.c.ts.desc(), t.c.id.desc())
            .limit(2 if event.kind == "user" else 1)
        )
        at_or_before = or_(t.c.ts < event.ts, and_(t.c.ts == event.ts, t.c.id <= event_id))
        found = await conn.execute(query.where(at_or_before))
        return [TurnStart(event.sender_id, *row) for row in found]

    async def _summarise(self, conn: AsyncConnection, start: TurnStart) -> None:
        """Applies a complete turn's actions to its row, once, or corrects them."""
        if start.transcript_id is None:
            return  # not a message the gateway sent
        t = stream_event_table
        sender = start.sender_id
        following = await conn.execute(
            select(t.c.kind, t.c.name)
            .where(
                t.c.sender_id == sender,
                or_(t.c.ts > start.ts, and_(t.c.ts == start.ts, t.c.id > start.id)),
            )
            .order_by(t.c.ts, t.c.id)
            .limit(_TURN_EVENTS)
        )
        names: list[str] = []
        for kind, name in following:
            if kind in ("user", "listen"):
                break
            if name:
                names.append(name)
        else:
            return  # the turn is not complete yet
        actions = collapse(names)
        digest = hashlib.sha256(json.dumps(actions).encode()).hexdigest()
        turn = stream_turn_table
        applied = await conn.scalar(
            select(turn.c.actions_digest).where(
                turn.c.sender_id == sender, turn.c.user_key == start.key
            )
        )
        if applied == digest:
            return
        data = await _citizen_data(conn, sender, start.transcript_id)
        if data is None:
            return
        nlu = {**(data.get("nlu") or {}), "actions": actions}
        await merge_data(conn, start.transcript_id, {"nlu": nlu})
        await self.index.annotate_row(conn, start.transcript_id, {"nlu": nlu})
        if applied is not None:
            await self.index.refresh_fallback(conn, sender)
            logger.info(
                "turn summary corrected by a late event",
                extra={"event": "stream_turn_corrected", "transcript_id": start.transcript_id},
            )
        now = utcnow()
        await conn.execute(
            dialect_insert(conn.dialect.name)(turn)
            .values(sender_id=sender, user_key=start.key, actions_digest=digest, applied_at=now)
            .on_conflict_do_update(
                index_elements=["sender_id", "user_key"],
                set_={"actions_digest": digest, "applied_at": now},
            )
        )

    async def _understood(
        self, conn: AsyncConnection, sender: str, row_id: int, understood: Mapping[str, Any]
    ) -> None:
        """Records the user event's NLU result at once; the turn's actions follow (and are
        kept when a replay brings the user event again)."""
        data = await _citizen_data(conn, sender, row_id)
        if data is None:
            return
        nlu = {**(data.get("nlu") or {}), **understood}
        await merge_data(conn, row_id, {"nlu": nlu})
        await self.index.annotate_row(conn, row_id, {"nlu": nlu})


async def _citizen_data(conn: AsyncConnection, sender: str, row_id: int) -> dict[str, Any] | None:
    """The data of the sender's citizen row ``row_id``; None for any other row (another
    conversation's, a deleted one, or one renamed when its conversation was anonymised)."""
    found = (
        await conn.execute(
            select(transcript_table.c.data).where(
                transcript_table.c.id == row_id,
                transcript_table.c.conversation_id == sender,
                transcript_table.c.role == "citizen",
            )
        )
    ).first()
    return None if found is None else dict(found.data or {})


async def _lock_sender(conn: AsyncConnection, sender: str) -> None:
    """Serialises one conversation's events across gateways until the transaction ends.
    SQLite needs nothing: its write transactions take the one write lock at BEGIN."""
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(sender.encode()).digest()[:8], "big", signed=True)
        await conn.execute(text("SELECT pg_advisory_xact_lock(CAST(:key AS BIGINT))"), {"key": key})
