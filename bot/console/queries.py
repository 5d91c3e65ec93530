"""Listing, filtering and reading conversations for review.

Listing uses keyset pagination on ``conversation.seq`` (newest first): the cursor is the
last seq shown, so page N costs what page 1 costs. Every filter is a condition on the
summary table or on small side tables keyed by seq; the full-text condition comes from
``SearchIndex.matches``. Values are returned as stored; masking is the caller's choice
(``masked()``), because only the caller knows whether the user may see personal data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import as_utc, utcnow
from bot.console.index import is_fallback
from bot.console.labels import describe_payload
from bot.console.masking import Piece, given_values, masked_pieces
from bot.console.search import SearchIndex
from bot.console.tables import (
    conversation_intent_table,
    conversation_note_table,
    conversation_table,
    conversation_tag_table,
    nlu_correction_table,
)
from bot.conversation.transcript import transcript_table
from bot.privacy import mask_personal_data, mask_value

PAGE_SIZE = 50
SEARCH_WINDOW = 4000
MAX_SEARCH_WINDOW = 50_000
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class ConversationFilter:
    """What the reviewer asked for; None means "any"."""

    date_from: date | None = None  # inclusive, China Standard Time
    date_to: date | None = None  # inclusive
    channel: str | None = None
    intent: str | None = None
    confidence_below: float | None = None
    fallback: bool | None = None
    handed_off: bool | None = None
    workorder: bool | None = None
    rating: int | None = None
    tag: str | None = None
    reviewed: bool | None = None
    flagged: bool | None = None
    query: str = ""

    def is_empty(self) -> bool:
        return self == ConversationFilter()

    def describe(self) -> dict[str, Any]:
        """The non-empty filters, for the audit log."""
        return {
            k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in self.__dict__.items()
            if v not in (None, "")
        }


@dataclass(frozen=True)
class ConversationSummary:
    seq: int
    conversation_id: str
    channel: str
    started_at: datetime
    last_at: datetime
    turns: int
    citizen_turns: int
    first_message: str
    last_status: str
    min_confidence: float | None
    fallback: bool
    handed_off: bool
    handoff_wait_s: float | None
    workorder_no: str | None
    rating: int | None
    reviewed: bool
    reviewed_by: str | None
    flagged: bool
    anonymised: bool
    tags: tuple[str, ...] = ()

    @property
    def matter(self) -> str:
        """What the list leads with: the citizen's matter (a button press told in words)."""
        return describe_payload(self.first_message) or self.first_message

    def masked(self) -> ConversationSummary:
        return replace(self, first_message=mask_personal_data(self.first_message))


@dataclass(frozen=True)
class Page:
    rows: list[ConversationSummary]
    next_cursor: int | None


@dataclass(frozen=True)
class Correction:
    id: int
    transcript_id: int
    seq: int
    text: str
    predicted_intent: str | None
    predicted_confidence: float | None
    intent: str
    entities: list[dict[str, Any]]
    corrected_by: str
    corrected_at: datetime
    exported_at: datetime | None

    def masked(self) -> Correction:
        return replace(self, text=mask_personal_data(self.text), entities=mask_value(self.entities))


@dataclass(frozen=True)
class Turn:
    id: int
    role: str
    text: str
    created_at: datetime
    data: dict[str, Any]
    correction: Correction | None = None
    button: str | None = None  # the title of the button whose payload ``text`` is
    pieces: tuple[Piece, ...] = ()  # ``text`` masked, part by part (empty: shown as it is)

    @property
    def shown_text(self) -> str:
        return f"（点击按钮）{self.button}" if self.button else self.text

    @property
    def nlu(self) -> dict[str, Any]:
        nlu = self.data.get("nlu")
        return nlu if isinstance(nlu, dict) else {}

    @property
    def intent(self) -> str | None:
        value = self.nlu.get("intent")
        return value if isinstance(value, str) else None

    @property
    def confidence(self) -> float | None:
        value = self.nlu.get("confidence")
        return float(value) if isinstance(value, int | float) else None

    @property
    def entities(self) -> list[dict[str, Any]]:
        return [e for e in self.nlu.get("entities") or [] if isinstance(e, dict)]

    @property
    def actions(self) -> list[str]:
        return [a for a in self.nlu.get("actions") or [] if isinstance(a, str)]

    @property
    def fallback(self) -> bool:
        return is_fallback(self.nlu)

    @property
    def status(self) -> str | None:
        value = self.data.get("status")
        return value if isinstance(value, str) else None

    def masked(self, given: frozenset[str]) -> Turn:
        """Masked for a reviewer without the unmask right; in the bot's own text only what
        the citizen ``given`` is masked (see ``bot.console.masking``)."""
        pieces = masked_pieces(self.text, given if self.role == "bot" else None)
        return replace(
            self,
            text="".join(p.text for p in pieces),
            pieces=pieces,
            button=mask_personal_data(self.button) if self.button else None,
            data=mask_value(self.data),
            correction=self.correction.masked() if self.correction else None,
        )


@dataclass(frozen=True)
class Note:
    id: int
    transcript_id: int | None
    author: str
    body: str
    created_at: datetime

    def masked(self) -> Note:
        return replace(self, body=mask_personal_data(self.body))


@dataclass(frozen=True)
class ConversationDetail:
    summary: ConversationSummary
    turns: list[Turn]
    notes: list[Note] = field(default_factory=list)

    def masked(self) -> ConversationDetail:
        given = given_values(t.text for t in self.turns if t.role == "citizen")
        return ConversationDetail(
            self.summary.masked(),
            [t.masked(given) for t in self.turns],
            [n.masked() for n in self.notes],
        )


def _summary(row: Any, tags: tuple[str, ...] = ()) -> ConversationSummary:
    return ConversationSummary(
        seq=row.seq,
        conversation_id=row.conversation_id,
        channel=row.channel,
        started_at=as_utc(row.started_at) or utcnow(),
        last_at=as_utc(row.last_at) or utcnow(),
        turns=row.turns,
        citizen_turns=row.citizen_turns,
        first_message=row.first_message,
        last_status=row.last_status,
        min_confidence=row.min_confidence,
        fallback=bool(row.fallback),
        handed_off=bool(row.handed_off),
        handoff_wait_s=row.handoff_wait_s,
        workorder_no=row.workorder_no,
        rating=row.rating,
        reviewed=bool(row.reviewed),
        reviewed_by=row.reviewed_by,
        flagged=bool(row.flagged),
        anonymised=bool(row.anonymised),
        tags=tags,
    )


def correction_from_row(row: Any) -> Correction:
    return Correction(
        id=row.id,
        transcript_id=row.transcript_id,
        seq=row.seq,
        text=row.text,
        predicted_intent=row.predicted_intent,
        predicted_confidence=row.predicted_confidence,
        intent=row.intent,
        entities=list(row.entities or []),
        corrected_by=row.corrected_by,
        corrected_at=as_utc(row.corrected_at) or utcnow(),
        exported_at=as_utc(row.exported_at),
    )


def _bool(column: ColumnElement[Any], wanted: bool) -> ColumnElement[bool]:
    return column.is_(true()) if wanted else column.is_(false())


def conditions(
    filters: ConversationFilter,
    search: SearchIndex,
    *,
    before: int | None = None,
    low: int | None = None,
    fenced: bool = False,
) -> list[ColumnElement[bool]]:
    c = conversation_table.c
    where: list[ColumnElement[bool]] = []
    if before is not None:
        where.append(c.seq < before)
    if low is not None:
        where.append(c.seq >= low)
    if filters.date_from:
        where.append(c.started_day >= filters.date_from)
    if filters.date_to:
        where.append(c.started_day <= filters.date_to)
    if filters.channel:
        where.append(c.channel == filters.channel)
    if filters.confidence_below is not None:
        where.append(c.min_confidence < filters.confidence_below)
    if filters.fallback is not None:
        where.append(_bool(c.fallback, filters.fallback))
    if filters.handed_off is not None:
        where.append(_bool(c.handed_off, filters.handed_off))
    if filters.workorder is not None:
        where.append(c.workorder_no.is_not(None) if filters.workorder else c.workorder_no.is_(None))
    if filters.rating is not None:
        where.append(c.rating == filters.rating)
    if filters.reviewed is not None:
        where.append(_bool(c.reviewed, filters.reviewed))
    if filters.flagged is not None:
        where.append(_bool(c.flagged, filters.flagged))
    if filters.intent:
        i = conversation_intent_table.c
        where.append(exists().where(and_(i.seq == c.seq, i.intent == filters.intent)))
    if filters.tag:
        t = conversation_tag_table.c
        where.append(exists().where(and_(t.seq == c.seq, t.tag == filters.tag)))
    if filters.query.strip():
        match = search.matches(filters.query, below=before, low=low, fenced=fenced)
        if match is not None:
            where.append(match)
    return where


async def list_conversations(
    engine: AsyncEngine,
    search: SearchIndex,
    filters: ConversationFilter,
    *,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """One page, newest first, after the ``before`` cursor."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    async with engine.connect() as conn:
        if filters.query.strip() and search.dialect == "postgresql":
            rows = await _postgres_search_rows(conn, search, filters, before, limit)
        else:
            rows = await _page_rows(conn, conditions(filters, search, before=before), limit)
        page_rows = rows[:limit]
        tags = await _tags(conn, [r.seq for r in page_rows])
    summaries = [_summary(r, tags.get(r.seq, ())) for r in page_rows]
    next_cursor = page_rows[-1].seq if len(rows) > limit else None
    return Page(summaries, next_cursor)


async def _postgres_search_rows(
    conn: Any, search: SearchIndex, filters: ConversationFilter, before: int | None, limit: int
) -> list[Any]:
    """Full-text pages on PostgreSQL, choosing the plan the planner cannot choose.

    The planner cannot estimate how many documents hold a pair of characters, so it walks
    the seq index testing every document even for a term that occurs nowhere (a full scan),
    or loads every match of a common term to sort them. Instead: search a window of the
    newest ``SEARCH_WINDOW`` conversations below the cursor; a common term fills the page
    there in a few milliseconds. Too few hits: widen the window by the observed density.
    No hit at all: the term is rare, so take all its matches from the GIN index first
    (``fenced``), which is cheap exactly then.
    """
    top = before
    if top is None:
        top = int(await conn.scalar(select(func.max(conversation_table.c.seq))) or 0) + 1
    window = SEARCH_WINDOW
    while top - window > 1:
        low = top - window
        rows = await _page_rows(conn, conditions(filters, search, before=top, low=low), limit)
        if len(rows) > limit:
            return rows
        if not rows:
            return await _page_rows(
                conn, conditions(filters, search, before=before, fenced=True), limit
            )
        wanted = math.ceil(window * (limit + 1) / len(rows) * 1.5)
        if wanted > MAX_SEARCH_WINDOW:
            break
        window = wanted
    return await _page_rows(conn, conditions(filters, search, before=before), limit)


async def _page_rows(conn: Any, where: list[ColumnElement[bool]], limit: int) -> list[Any]:
    query = (
        select(conversation_table)
        .where(*where)
        .order_by(conversation_table.c.seq.desc())
        .limit(limit + 1)
    )
    return list((await conn.execute(query)).all())


async def _tags(conn: Any, seqs: list[int]) -> dict[int, tuple[str, ...]]:
    if not seqs:
        return {}
    t = conversation_tag_table.c
    rows = (
        await conn.execute(select(t.seq, t.tag).where(t.seq.in_(seqs)).order_by(t.seq, t.tag))
    ).all()
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(row.seq, []).append(row.tag)
    return {seq: tuple(tags) for seq, tags in found.items()}


async def get_summary(engine: AsyncEngine, seq: int) -> ConversationSummary | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(conversation_table).where(conversation_table.c.seq == seq))
        ).first()
        if row is None:
            return None
        tags = await _tags(conn, [seq])
    return _summary(row, tags.get(seq, ()))


async def conversation_detail(engine: AsyncEngine, seq: int) -> ConversationDetail | None:
    summary = await get_summary(engine, seq)
    if summary is None:
        return None
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(transcript_table)
                .where(transcript_table.c.conversation_id == summary.conversation_id)
                .order_by(transcript_table.c.id)
            )
        ).all()
        corrections = {
            r.transcript_id: correction_from_row(r)
            for r in (
                await conn.execute(
                    select(nlu_correction_table).where(nlu_correction_table.c.seq == seq)
                )
            ).all()
        }
        n = conversation_note_table.c
        notes = (
            await conn.execute(select(conversation_note_table).where(n.seq == seq).order_by(n.id))
        ).all()
    turns: list[Turn] = []
    buttons: dict[str, str] = {}  # payload -> title, of the buttons offered so far
    for r in rows:
        data = dict(r.data or {})
        if r.role == "bot":
            buttons.update(_offered(data))
            if not r.text and not data.get("buttons"):
                continue  # a mark for the page (emergency, flaggable answer): nothing to read
        turns.append(
            Turn(
                id=r.id,
                role=r.role,
                text=r.text,
                created_at=as_utc(r.created_at) or utcnow(),
                data=data,
                correction=corrections.get(r.id),
                button=buttons.get(r.text) or describe_payload(r.text)
                if r.role == "citizen"
                else None,
            )
        )
    return ConversationDetail(
        summary,
        turns,
        [
            Note(
                id=r.id,
                transcript_id=r.transcript_id,
                author=r.author,
                body=r.body,
                created_at=as_utc(r.created_at) or utcnow(),
            )
            for r in notes
        ],
    )


def _offered(data: dict[str, Any]) -> dict[str, str]:
    return {
        str(b["payload"]): str(b["title"])
        for b in data.get("buttons") or []
        if isinstance(b, dict) and b.get("payload") and b.get("title")
    }


async def channels(engine: AsyncEngine) -> list[str]:
    return await _distinct(engine, select(conversation_table.c.channel))


async def known_tags(engine: AsyncEngine, limit: int = 200) -> list[str]:
    return await _distinct(engine, select(conversation_tag_table.c.tag), limit)


async def _distinct(
    engine: AsyncEngine, column: Select[Any], limit: int | None = None
) -> list[str]:
    """The distinct values of a one-column select, sorted."""
    query = column.distinct().order_by(*column.selected_columns).limit(limit)
    async with engine.connect() as conn:
        return list((await conn.execute(query)).scalars())
