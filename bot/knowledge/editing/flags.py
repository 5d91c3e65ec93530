"""Flags from the front line: an answer said to be wrong or outdated, for the reviewers.

Agents and citizens flag with one click (an optional comment); the flag keeps the question
and the answer as they were, masked of personal data, so a reviewer sees what went wrong
without opening the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from bot.clock import as_utc, utcnow
from bot.knowledge.editing.tables import flags_table
from bot.knowledge.store import KnowledgeStore
from bot.privacy import mask_personal_data

MAX_TEXT = 2000
MAX_COMMENT = 500
FLAGGABLE_KEY = "knowledge"


def flaggable(entry_id: str) -> dict[str, Any]:
    """The custom message sent after an answer from the knowledge base: the web chat offers
    its "答案有误/已过时？" control under that answer, and the flag names ``entry_id``."""
    return {FLAGGABLE_KEY: {"entry_id": entry_id}}


def flagged_entry(custom: dict[str, Any] | None) -> str | None:
    """The entry a custom message marks as flaggable, if it is such a mark."""
    mark = (custom or {}).get(FLAGGABLE_KEY)
    entry_id = mark.get("entry_id") if isinstance(mark, dict) else None
    return entry_id if isinstance(entry_id, str) and entry_id else None


class Reason(StrEnum):
    WRONG = "wrong"
    OUTDATED = "outdated"

    @property
    def label(self) -> str:
        return "答案有误" if self is Reason.WRONG else "信息过时"


@dataclass(frozen=True)
class Flag:
    id: int
    record_id: str | None
    reason: Reason
    comment: str
    question: str
    answer: str
    reporter: str
    at: datetime


class FlagBox:
    def __init__(self, store: KnowledgeStore) -> None:
        self.engine = store.engine
        flags_table.create(self.engine, checkfirst=True)

    def add(
        self,
        *,
        reason: Reason,
        question: str,
        answer: str,
        reporter: str,
        record_id: str | None = None,
        comment: str = "",
        conversation_id: str | None = None,
    ) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                flags_table.insert().values(
                    record_id=record_id or None,
                    reason=reason.value,
                    comment=mask_personal_data(comment.strip()[:MAX_COMMENT]),
                    question=mask_personal_data(question.strip()[:MAX_TEXT]),
                    answer=mask_personal_data(answer.strip()[:MAX_TEXT]),
                    reporter=reporter,
                    conversation_id=conversation_id,
                    at=utcnow(),
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def open_flags(self, record_id: str | None = None, limit: int = 100) -> list[Flag]:
        query = sa.select(flags_table).where(flags_table.c.resolved_at.is_(None))
        if record_id is not None:
            query = query.where(flags_table.c.record_id == record_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(flags_table.c.id.desc()).limit(limit))
            return [
                Flag(
                    r.id,
                    r.record_id,
                    Reason(r.reason),
                    r.comment,
                    r.question,
                    r.answer,
                    r.reporter,
                    as_utc(r.at),
                )
                for r in rows
            ]

    def count_open(self) -> int:
        with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).where(flags_table.c.resolved_at.is_(None))
            return int(conn.scalar(query.select_from(flags_table)) or 0)

    def resolve(self, flag_id: int, reviewer: str) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                flags_table.update()
                .where(flags_table.c.id == flag_id, flags_table.c.resolved_at.is_(None))
                .values(resolved_by=reviewer, resolved_at=utcnow())
            ).rowcount
        return bool(done)
