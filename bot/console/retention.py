"""Retention of conversations, and deletion of one citizen's data on request.

After ``RETENTION_DAYS`` without a new message a conversation is either anonymised
(``RETENTION_MODE=anonymise``, the default: personal numbers, plates and detailed addresses
masked in every turn, note and correction; the sender id — a WeChat openid or web session
id — replaced by a random pseudonym; the search document rebuilt from the masked text) or
deleted (``RETENTION_MODE=delete``). The handoff's records of the conversation (notes,
episodes, assist suggestions, calls: see ``erasure``) are masked or deleted with it. Either
way Rasa's tracker events for the old sender id are deleted: the dialogue engine needs no
memory of a conversation that old; and the work-order outbox's delivered entries older
than the period go, since the platform keeps the official record of each order.

Regex masking cannot find every personal detail in free text (a name, a description); the
statistics the console needs survive anonymisation, and deletion is there when nothing
may remain. A deletion request removes everything: transcript, summary, review notes,
corrections, search document, handoff records, outbox entries, tracker events. On SQLite
the erased bytes are gone from the files too: deleted content is zeroed (``bot.storage``),
the search index is compacted and the write-ahead logs are emptied afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, func, inspect, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import as_utc, utcnow
from bot.console import erasure
from bot.console.index import SEARCHED_ROLES, normalise_question
from bot.console.search import SearchIndex
from bot.console.tables import (
    conversation_intent_table,
    conversation_note_table,
    conversation_table,
    conversation_tag_table,
    nlu_correction_table,
    unanswered_table,
)
from bot.conversation.transcript import transcript_table
from bot.privacy import canonical_mobile, mask_personal_data, mask_value, mobile_numbers
from bot.settings import Settings
from bot.storage import checkpoint, open_engine
from bot.workorders.outbox import outbox_retention

logger = logging.getLogger(__name__)

MODES = ("anonymise", "delete")
BATCH = 200
MAX_CITIZEN_MATCHES = 1000


@dataclass(frozen=True)
class RetentionResult:
    mode: str
    conversations: int
    cutoff: datetime


@dataclass(frozen=True)
class CitizenMatch:
    seq: int
    conversation_id: str
    channel: str
    started_at: datetime
    turns: int


class OutboxRetention(Protocol):
    """The work-order outbox's side (``bot.workorders.outbox.retention``)."""

    async def forget_conversations(self, conversation_ids: Sequence[str]) -> int: ...

    async def purge_finished(self, before: datetime) -> int: ...

    async def close(self) -> None: ...


class TrackerPurge:
    """Deletes Rasa's tracker events (SQLTrackerStore table ``events``) for sender ids.

    ``sqlite_file``: Rasa's own SQLite file, skipped while it does not exist yet.
    """

    def __init__(self, engine: AsyncEngine, sqlite_file: Path | None = None) -> None:
        self.engine = engine
        self.sqlite_file = sqlite_file

    async def purge(self, sender_ids: Sequence[str]) -> None:
        if not sender_ids or (self.sqlite_file is not None and not self.sqlite_file.exists()):
            return
        async with self.engine.begin() as conn:
            has_events = await conn.run_sync(lambda sync: inspect(sync).has_table("events"))
            if has_events:
                await conn.execute(
                    text("DELETE FROM events WHERE sender_id = :sender"),
                    [{"sender": s} for s in sender_ids],
                )
        await checkpoint(self.engine)


def tracker_purge(settings: Settings, engine: AsyncEngine) -> TrackerPurge:
    """Rasa's tracker store: in the project's database with ``DATABASE_URL``, else its own
    SQLite file, which deleting a citizen's data must reach too."""
    if settings.database_url:
        return TrackerPurge(engine)
    path = settings.var_dir / "rasa_tracker.db"
    return TrackerPurge(open_engine(None, path), sqlite_file=path)


class Retention:
    def __init__(
        self,
        engine: AsyncEngine,
        search: SearchIndex,
        tracker: TrackerPurge | None = None,
        outbox: OutboxRetention | None = None,
    ) -> None:
        self.engine = engine
        self.search = search
        self.tracker = tracker
        self.outbox = outbox

    @classmethod
    def build(cls, settings: Settings, engine: AsyncEngine, search: SearchIndex) -> Retention:
        """With every store the settings point at (the gateway's and the CLI's job alike);
        :meth:`close` releases the connections it opened."""
        return cls(engine, search, tracker_purge(settings, engine), outbox_retention(settings))

    async def close(self) -> None:
        if self.tracker is not None and self.tracker.engine is not self.engine:
            await self.tracker.engine.dispose()
        if self.outbox is not None:
            await self.outbox.close()

    async def run(self, days: int, mode: str, now: datetime | None = None) -> RetentionResult:
        if mode not in MODES:
            raise ValueError(f"RETENTION_MODE must be one of {MODES}, got {mode!r}")
        cutoff = (now or utcnow()) - timedelta(days=days)
        c = conversation_table.c
        done = 0
        while True:
            query = select(c.seq, c.conversation_id).where(c.last_at < cutoff).limit(BATCH)
            if mode == "anonymise":
                query = query.where(c.anonymised.is_(False))
            async with self.engine.connect() as conn:
                batch = [(int(r.seq), str(r.conversation_id)) for r in await conn.execute(query)]
            if not batch:
                break
            if mode == "delete":
                await self._delete([seq for seq, _ in batch])
            else:
                await self._anonymise(batch)
            done += len(batch)
        if done:
            await self._compact()
        if self.outbox is not None:
            await self.outbox.purge_finished(cutoff)
        return RetentionResult(mode, done, cutoff)

    async def _anonymise(self, batch: list[tuple[int, str]]) -> None:
        async with self.engine.begin() as conn:
            for seq, conversation_id in batch:
                await self._anonymise_one(conn, seq, conversation_id)
        if self.tracker is not None:
            await self.tracker.purge([cid for _, cid in batch])

    async def _anonymise_one(self, conn: AsyncConnection, seq: int, old_id: str) -> None:
        new_id = f"anon-{uuid.uuid4().hex}"
        t = transcript_table.c
        rows = (
            await conn.execute(
                select(t.id, t.role, t.text, t.data).where(t.conversation_id == old_id)
            )
        ).all()
        words: list[str] = []
        await erasure.anonymise(conn, old_id, new_id, [int(row.id) for row in rows])
        for row in rows:
            masked = mask_personal_data(row.text or "")
            if row.role in SEARCHED_ROLES and masked:
                words.append(masked)
            await conn.execute(
                update(transcript_table)
                .where(t.id == row.id)
                .values(conversation_id=new_id, text=masked, data=mask_value(row.data))
            )
        c = conversation_table.c
        first = await conn.scalar(select(c.first_message).where(c.seq == seq))
        await conn.execute(
            update(conversation_table)
            .where(c.seq == seq)
            .values(
                conversation_id=new_id,
                first_message=mask_personal_data(first or ""),
                anonymised=True,
            )
        )
        n = conversation_note_table.c
        for note in (await conn.execute(select(n.id, n.body).where(n.seq == seq))).all():
            await conn.execute(
                update(conversation_note_table)
                .where(n.id == note.id)
                .values(body=mask_personal_data(note.body))
            )
        k = nlu_correction_table.c
        for fix in (await conn.execute(select(k.id, k.text, k.entities).where(k.seq == seq))).all():
            masked_text = mask_personal_data(fix.text)
            await conn.execute(
                update(nlu_correction_table)
                .where(k.id == fix.id)
                .values(text=masked_text, entities=_relocate(masked_text, fix.entities or []))
            )
        u = unanswered_table.c
        for item in (await conn.execute(select(u.transcript_id, u.text).where(u.seq == seq))).all():
            masked = mask_personal_data(item.text)
            await conn.execute(
                update(unanswered_table)
                .where(u.transcript_id == item.transcript_id)
                .values(text=masked, normalized=normalise_question(masked))
            )
        await self.search.replace(conn, seq, "\n".join(words))

    async def delete_conversations(self, seqs: Sequence[int]) -> list[str]:
        """Deletes conversations and everything derived from them, including their work-order
        outbox entries; returns their ids."""
        ids = await self._delete(seqs)
        if ids:
            await self._compact()
        if self.outbox is not None:
            await self.outbox.forget_conversations(ids)
        return ids

    async def _delete(self, seqs: Sequence[int]) -> list[str]:
        if not seqs:
            return []
        c = conversation_table.c
        t = transcript_table.c
        async with self.engine.begin() as conn:
            ids = list(
                (await conn.execute(select(c.conversation_id).where(c.seq.in_(seqs)))).scalars()
            )
            turns = list(
                (await conn.execute(select(t.id).where(t.conversation_id.in_(ids)))).scalars()
            )
            await erasure.erase(conn, ids, turns)
            await conn.execute(delete(transcript_table).where(t.conversation_id.in_(ids)))
            for table in (
                conversation_intent_table,
                conversation_tag_table,
                conversation_note_table,
                nlu_correction_table,
                unanswered_table,
            ):
                await conn.execute(delete(table).where(table.c.seq.in_(seqs)))
            await self.search.delete(conn, list(seqs))
            await conn.execute(delete(conversation_table).where(c.seq.in_(seqs)))
        if self.tracker is not None:
            await self.tracker.purge(ids)
        return ids

    async def _compact(self) -> None:
        """Once per deletion or run: the index forgets the removed words, and the log keeps
        no page from before."""
        async with self.engine.begin() as conn:
            await self.search.compact(conn)
        await checkpoint(self.engine)

    async def find_citizen(self, identifier: str) -> list[CitizenMatch]:
        """Conversations of one citizen: by sender id, or by a number they wrote (phone, ID).

        The search index narrows the candidates; each is confirmed against the transcript
        text, so a partial token match never marks someone else's conversation. A mobile
        number matches however either side wrote it (139-1234-5678, +86 139 1234 5678).
        """
        wanted = identifier.strip()
        if not wanted:
            return []
        c = conversation_table.c
        columns = (c.seq, c.conversation_id, c.channel, c.started_at, c.turns)
        async with self.engine.connect() as conn:
            rows = list(
                (await conn.execute(select(*columns).where(c.conversation_id == wanted))).all()
            )
            match = self.search.matches(wanted) if re.search(r"\w", wanted) else None
            if match is not None:
                candidates = (
                    await conn.execute(
                        select(*columns)
                        .where(match)
                        .order_by(c.seq.desc())
                        .limit(MAX_CITIZEN_MATCHES)
                    )
                ).all()
                for row in candidates:
                    if all(r.seq != row.seq for r in rows) and await _mentions(
                        conn, str(row.conversation_id), wanted
                    ):
                        rows.append(row)
        return [
            CitizenMatch(
                seq=int(r.seq),
                conversation_id=str(r.conversation_id),
                channel=str(r.channel),
                started_at=as_utc(r.started_at),
                turns=int(r.turns),
            )
            for r in rows
        ]


async def _mentions(conn: AsyncConnection, conversation_id: str, wanted: str) -> bool:
    """Whether a turn of the conversation contains ``wanted`` (a mobile number in any form,
    anything else as typed, an ID's check letter in either case)."""
    t = transcript_table.c
    phone = canonical_mobile(wanted)
    # The last four digits are written together in every form of a mobile number.
    needle = phone[-4:] if phone else wanted.lower()
    texts = (
        await conn.execute(
            select(t.text).where(
                t.conversation_id == conversation_id,
                func.lower(t.text).contains(needle, autoescape=True),
            )
        )
    ).scalars()
    if phone is None:
        return any(texts)
    return any(phone in mobile_numbers(value) for value in texts)


def _relocate(masked_text: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entity offsets after masking; an entity whose words cannot be found is dropped."""
    kept: list[dict[str, Any]] = []
    for entity in entities:
        words = mask_personal_data(str(entity.get("text", "")))
        start = masked_text.find(words) if words else -1
        if start >= 0:
            moved = {**entity, "text": words, "start": start, "end": start + len(words)}
            if "value" in moved:
                moved["value"] = mask_personal_data(str(moved["value"]))
            kept.append(moved)
    return kept


async def retention_loop(
    retention: Retention, days: int, mode: str, interval_s: float, stop: asyncio.Event
) -> None:
    """Runs the retention job now and then every ``interval_s`` until ``stop`` is set."""
    while not stop.is_set():
        try:
            result = await retention.run(days, mode)
            if result.conversations:
                logger.info(
                    "retention: %s %d conversations older than %s",
                    result.mode,
                    result.conversations,
                    result.cutoff.isoformat(),
                    extra={"event": "retention"},
                )
        except Exception:
            logger.exception("retention job failed; will retry")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
