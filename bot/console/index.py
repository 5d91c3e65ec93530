"""Keeps the ``conversation`` summary and the search index in step with the transcript.

``ConversationIndex`` observes the gateway's ``TranscriptStore`` (every committed row, and
the NLU result merged in after Rasa answered). What a row tells the summary:

- citizen rows: the citizen's matter (the first message that says something about it, not
  "你好" or a button press; until one comes, the first message); ``data.nlu`` {intent,
  confidence, entities, actions} → lowest confidence, intents, fallback (the "没有完全理解"
  reply was given: ``utter_default`` or ``action_default_fallback`` among the actions and
  responses; an ``nlu_fallback`` turn that was answered, taken up as a work order or taken
  by an active form is not one);
- bot rows: ``data.status`` (ok, emergency, engine_unavailable, …);
- agent rows: the conversation was handed off to a human;
- any row: ``data.handoff = {"state": "waiting" | "with_agent" | "bot" | "closed"}`` or
  ``data.event == "handoff"`` with ``data.state`` — waiting starts the wait clock, with_agent
  stops it (handoff waiting time); a work-order number ``GD`` + 13 digits (or the acceptance
  number ``SL`` + 13 digits given before it) in a bot/agent/system row's text or in
  ``data.workorder_no`` / ``data.order_no``; ``data.rating`` 1–5 (satisfaction).

Rows written before the console existed, or by another process, are picked up by
``rebuild`` (``python -m bot supervisor reindex``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import as_utc, beijing_day, utcnow
from bot.console import index_sql
from bot.console.review import project_vocabulary
from bot.console.search import SearchIndex
from bot.console.tables import (
    conversation_intent_table,
    conversation_table,
    unanswered_table,
)
from bot.console.tokens import normalise
from bot.console.upgrade import upgrade
from bot.conversation.transcript import transcript_table
from bot.handoff.draft import citizen_statements
from bot.storage import write_transaction
from bot.workorders.dialogue.answers import meaningful_chars

FALLBACK_ACTIONS = frozenset(
    {"utter_default", "action_default_fallback", "action_two_stage_fallback"}
)
SEARCHED_ROLES = frozenset({"citizen", "agent"})
_ORDER_NO = re.compile(r"(?:GD|SL)\d{13}")  # order no., or acceptance no. before it
_FIRST_MESSAGE_CHARS = 200
_PUNCTUATION = re.compile(r"[\s,，。.!！?？~～、…]+")


def normalise_question(text: str) -> str:
    """Groups the same question typed differently: case, width, spaces and punctuation."""
    return "".join(ch for ch in normalise(text) if ch.isalnum())[:200]


def is_fallback(nlu: Mapping[str, Any]) -> bool:
    """The citizen was told "没有完全理解" and the dialogue did not go on: a turn an active
    form took (its name among the actions: it filled its slot or asked its question again)
    is the form at work, not a failure."""
    actions = {a for a in nlu.get("actions") or () if isinstance(a, str)}
    return bool(actions & FALLBACK_ACTIONS) and not actions & set(project_vocabulary().forms)


def is_matter(text: str) -> bool:
    """Says something about the citizen's matter: not a greeting, a thank-you, a request
    for a human or a button press (the filter the agents' work-order draft uses)."""
    bare = _PUNCTUATION.sub("", text)
    return meaningful_chars(bare) >= 2 and bool(
        citizen_statements([{"role": "citizen", "text": bare}])
    )


def handoff_state(data: Mapping[str, Any]) -> str | None:
    handoff = data.get("handoff")
    if isinstance(handoff, Mapping) and isinstance(handoff.get("state"), str):
        return str(handoff["state"])
    if data.get("event") == "handoff" and isinstance(data.get("state"), str):
        return str(data["state"])
    return None


def workorder_number(text: str, data: Mapping[str, Any]) -> str | None:
    for key in ("workorder_no", "order_no"):
        value = data.get(key)
        if isinstance(value, str) and _ORDER_NO.fullmatch(value):
            return value
    found = _ORDER_NO.search(text)
    return found.group() if found else None


def rating_of(data: Mapping[str, Any]) -> int | None:
    value = data.get("rating")
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
        return value
    return None


class ConversationIndex:
    """The transcript's index (:class:`bot.conversation.transcript.TranscriptIndex`: the
    gateway writes each row and its summary in one transaction), or an observer of a store
    that commits rows alone (its own transaction per row); also the entry point for bulk
    rebuilds."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.search = SearchIndex(self.dialect)

    async def setup(self) -> None:
        await upgrade(self.engine)
        async with self.engine.begin() as conn:
            await self.search.setup(conn)

    # -- TranscriptObserver (TranscriptIndex: apply_row, annotate_row) -------------------

    async def appended(self, rows: Sequence[dict[str, Any]]) -> None:
        async with write_transaction(self.engine) as conn:
            for row in rows:
                await self.apply_row(conn, row)

    async def annotated(self, row_id: int, data: dict[str, Any]) -> None:
        async with write_transaction(self.engine) as conn:
            await self.annotate_row(conn, row_id, data)

    async def annotate_row(
        self, conn: AsyncConnection, row_id: int, data: Mapping[str, Any]
    ) -> None:
        """Folds what was learnt about a row after it was written into its summary.

        Idempotent: NLU facts only lower the lowest confidence, add intents and set the
        fallback flag, so the same annotation applied twice leaves the summary as once.
        """
        found = (await conn.execute(index_sql.ROW, {"row_id": row_id})).first()
        if found is not None and found.seq is not None:
            await self._apply_data(
                conn,
                int(found.seq),
                row_id,
                found.role,
                data,
                None,
                found.text,
                as_utc(found.created_at),
            )

    async def refresh_fallback(self, conn: AsyncConnection, conversation_id: str) -> None:
        """Derives the fallback flag and the unanswered questions again from the citizen
        rows: when a turn's actions were corrected (an event arrived after its turn was
        summarised), this is the one NLU fact that can be withdrawn."""
        seq = await conn.scalar(
            select(conversation_table.c.seq).where(
                conversation_table.c.conversation_id == conversation_id
            )
        )
        if seq is None:
            return
        rows = await conn.execute(
            select(transcript_table.c.id, transcript_table.c.data).where(
                transcript_table.c.conversation_id == conversation_id,
                transcript_table.c.role == "citizen",
            )
        )
        fallen = [
            row.id
            for row in rows
            if isinstance(nlu := (row.data or {}).get("nlu"), Mapping) and is_fallback(nlu)
        ]
        await conn.execute(
            update(conversation_table)
            .where(conversation_table.c.seq == seq)
            .values(fallback=bool(fallen))
        )
        await conn.execute(
            delete(unanswered_table).where(
                unanswered_table.c.seq == seq, unanswered_table.c.transcript_id.notin_(fallen)
            )
        )

    # -- applying rows ------------------------------------------------------------------

    async def apply_row(self, conn: AsyncConnection, row: Mapping[str, Any]) -> int:
        """Folds one transcript row into its conversation's summary; returns the seq.

        It runs in the transaction that writes the row (every turn of every conversation),
        so it costs two statements when the conversation has a summary already: a read,
        and one update that carries the row's facts too.
        """
        created = as_utc(row["created_at"])
        key = {"conversation_id": row["conversation_id"]}
        current = (await conn.execute(index_sql.SUMMARY, key)).first()
        if current is None:  # the conversation's first row (or a rival's: nothing happens)
            new_summary = index_sql.inserts(self.dialect)[0]
            await conn.execute(
                new_summary,
                {
                    **key,
                    "channel": row["channel"],
                    "started_at": created,
                    "started_day": beijing_day(created),
                    "last_at": created,
                    "turns": 0,
                    "citizen_turns": 0,
                    "first_message": "",
                    "last_status": "",
                    "fallback": False,
                    "handed_off": False,
                    "reviewed": False,
                    "flagged": False,
                    "anonymised": False,
                },
            )
            current = (await conn.execute(index_sql.SUMMARY, key)).one()
        role = str(row["role"])
        text = str(row["text"] or "")
        data: Mapping[str, Any] = row.get("data") or {}
        values: dict[str, Any] = {
            "turns": index_sql.COUNTED,
            "last_at": max(as_utc(current.last_at), created),
        }
        if role == "citizen":
            values["citizen_turns"] = index_sql.COUNTED
            shown = current.first_message
            said = bool(text) and not data.get("reason")
            if said and (not shown or (is_matter(text) and not is_matter(shown))):
                values["first_message"] = text[:_FIRST_MESSAGE_CHARS]
        elif role == "bot" and isinstance(data.get("status"), str):
            values["last_status"] = data["status"]
        elif role == "agent":
            values["handed_off"] = True
        seq = int(current.seq)
        await self._apply_data(
            conn, seq, int(row["id"]), role, data, created, text, created, values
        )
        if role in SEARCHED_ROLES and text:
            await self.search.add(conn, seq, text)
        return seq

    async def _apply_data(
        self,
        conn: AsyncConnection,
        seq: int,
        row_id: int,
        role: str,
        data: Mapping[str, Any],
        at: datetime | None,
        text: str,
        written_at: datetime,
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        """``at`` is when the fact happened (None: now, for annotations arriving later);
        ``changes`` to the summary are the caller's, made in the same update (see
        :func:`bot.console.index_sql.summary_update` for what a value means)."""
        values: dict[str, Any] = dict(changes or {})
        nlu = data.get("nlu")
        if role == "citizen" and isinstance(nlu, Mapping):
            _, new_unanswered, new_intent = index_sql.inserts(self.dialect)
            confidence = nlu.get("confidence")
            if isinstance(confidence, int | float):
                values["min_confidence"] = float(confidence)
            if is_fallback(nlu):
                values["fallback"] = True
                if text:
                    await conn.execute(
                        new_unanswered,
                        {
                            "transcript_id": row_id,
                            "seq": seq,
                            "day": beijing_day(written_at),
                            "normalized": normalise_question(text),
                            "text": text[:_FIRST_MESSAGE_CHARS],
                        },
                    )
            intent = nlu.get("intent")
            if isinstance(intent, str) and intent:
                await conn.execute(new_intent, {"intent": intent[:64], "seq": seq})
        state = handoff_state(data)
        moment = at or utcnow()
        if state == "waiting":
            values["handoff_requested_at"] = moment
        elif state in ("with_agent", "agent"):
            values["handed_off"] = True
            requested = await conn.scalar(index_sql.HANDOFF_REQUESTED, {"seq": seq})
            if requested is not None:
                values["handoff_wait_s"] = max(0.0, (moment - as_utc(requested)).total_seconds())
        order_no = workorder_number(text, data) if role != "citizen" else None
        if order_no:
            values["workorder_no"] = order_no
        rating = rating_of(data)
        if rating is not None:
            values["rating"] = rating
        if values:
            await conn.execute(*index_sql.summary_update(seq, values))

    # -- rebuilding ---------------------------------------------------------------------

    async def rebuild(self, conversation_ids: Sequence[str] | None = None) -> int:
        """Recomputes summaries from the transcript (all, or the given conversations).

        Review state (tags, notes, corrections, reviewed/flagged) is kept: only the
        derived columns and the search document are recomputed.
        """
        async with self.engine.connect() as conn:
            if conversation_ids is None:
                ids = list(
                    (
                        await conn.execute(select(transcript_table.c.conversation_id).distinct())
                    ).scalars()
                )
            else:
                ids = list(conversation_ids)
        for start in range(0, len(ids), 200):
            batch = ids[start : start + 200]
            async with write_transaction(self.engine) as conn:
                await self._reset(conn, batch)
                rows = (
                    await conn.execute(
                        select(transcript_table)
                        .where(transcript_table.c.conversation_id.in_(batch))
                        .order_by(transcript_table.c.id)
                    )
                ).mappings()
                for row in list(rows):
                    await self.apply_row(conn, dict(row))
        return len(ids)

    async def _reset(self, conn: AsyncConnection, conversation_ids: Iterable[str]) -> None:
        ids = list(conversation_ids)
        seqs = list(
            (
                await conn.execute(
                    select(conversation_table.c.seq).where(
                        conversation_table.c.conversation_id.in_(ids)
                    )
                )
            ).scalars()
        )
        if not seqs:
            return
        await self.search.delete(conn, seqs)
        await conn.execute(delete(unanswered_table).where(unanswered_table.c.seq.in_(seqs)))
        await conn.execute(
            delete(conversation_intent_table).where(conversation_intent_table.c.seq.in_(seqs))
        )
        await conn.execute(
            update(conversation_table)
            .where(conversation_table.c.seq.in_(seqs))
            .values(
                turns=0,
                citizen_turns=0,
                first_message="",
                last_status="",
                min_confidence=None,
                fallback=False,
                handoff_requested_at=None,
                handed_off=False,
                handoff_wait_s=None,
                workorder_no=None,
                rating=None,
            )
        )

    async def backfill_if_empty(self) -> int:
        """On the first start with an existing transcript, indexes all of it once."""
        async with self.engine.connect() as conn:
            indexed = await conn.scalar(select(func.count()).select_from(conversation_table))
            written = await conn.scalar(select(transcript_table.c.id).limit(1))
        if indexed or written is None:
            return 0
        return await self.rebuild()
