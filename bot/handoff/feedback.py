"""What became of each suggested answer: used as it was, edited, or ignored.

Recorded server-side, from what the agent actually sent, so the figures do not depend on
the browser reporting honestly: a suggestion sent unchanged is ``used``; sent after
changes, ``edited`` (with how similar the final text stayed); replaced by fresher
suggestions or left when the conversation ended, ``ignored``. These figures tell the
knowledge team which answers agents trust and which need rewriting.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import utcnow
from bot.storage import metadata

suggestion_table = Table(
    "assist_suggestion",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(128), nullable=False),
    Column("agent_id", Integer, nullable=False),
    Column("query", Text, nullable=False, default=""),
    Column("text", Text, nullable=False),
    Column("citation", JSON, nullable=True),
    Column("score", Float, nullable=False, default=0.0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(16), nullable=False, default="shown"),
    Column("final_text", Text, nullable=False, default=""),
    Column("similarity", Float, nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Index("ix_assist_suggestion_conversation", "conversation_id", "agent_id", "outcome"),
)


class Outcome(StrEnum):
    SHOWN = "shown"
    USED = "used"
    EDITED = "edited"
    IGNORED = "ignored"


@dataclass(frozen=True)
class ShownSuggestion:
    """A suggested answer as the agent's console receives it."""

    text: str
    score: float
    citation: dict[str, Any] | None


def _normalise(text: str) -> str:
    return "".join(text.split())


def judge(suggested: str, sent: str) -> tuple[Outcome, float]:
    """``used`` when the sent text is the suggestion (whitespace aside), else ``edited``."""
    a, b = _normalise(suggested), _normalise(sent)
    similarity = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() if a or b else 1.0
    return (Outcome.USED if a == b else Outcome.EDITED), round(similarity, 3)


class SuggestionLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def shown(
        self,
        conversation_id: str,
        agent_id: int,
        query: str,
        suggestions: Sequence[ShownSuggestion],
    ) -> list[int]:
        """Records a fresh set of suggestions; the previous unused set counts as ignored."""
        now = utcnow()
        ids = []
        async with self.engine.begin() as conn:
            await conn.execute(
                update(suggestion_table)
                .where(
                    suggestion_table.c.conversation_id == conversation_id,
                    suggestion_table.c.agent_id == agent_id,
                    suggestion_table.c.outcome == Outcome.SHOWN.value,
                )
                .values(outcome=Outcome.IGNORED.value, decided_at=now)
            )
            for suggestion in suggestions:
                result = await conn.execute(
                    suggestion_table.insert().values(
                        conversation_id=conversation_id,
                        agent_id=agent_id,
                        query=query[:2000],
                        text=suggestion.text,
                        citation=suggestion.citation,
                        score=suggestion.score,
                        created_at=now,
                        outcome=Outcome.SHOWN.value,
                    )
                )
                key = result.inserted_primary_key
                assert key is not None
                ids.append(int(key[0]))
        return ids

    async def sent(
        self, suggestion_id: int, conversation_id: str, agent_id: int, text: str
    ) -> Outcome | None:
        """The agent sent ``text`` after inserting the suggestion; None if it is not theirs.

        A suggestion already marked ignored (a refresh came while the agent was editing it)
        is still judged: what was sent is what counts.
        """
        async with self.engine.begin() as conn:
            row = (
                (
                    await conn.execute(
                        select(suggestion_table.c.text, suggestion_table.c.outcome).where(
                            suggestion_table.c.id == suggestion_id,
                            suggestion_table.c.conversation_id == conversation_id,
                            suggestion_table.c.agent_id == agent_id,
                        )
                    )
                )
                .mappings()
                .first()
            )
            if row is None or row["outcome"] not in (Outcome.SHOWN.value, Outcome.IGNORED.value):
                return None
            outcome, similarity = judge(row["text"], text)
            await conn.execute(
                update(suggestion_table)
                .where(suggestion_table.c.id == suggestion_id)
                .values(
                    outcome=outcome.value,
                    final_text=text,
                    similarity=similarity,
                    decided_at=utcnow(),
                )
            )
        return outcome

    async def finish(self, conversation_id: str) -> None:
        """The conversation left the agent: suggestions never sent were ignored."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(suggestion_table)
                .where(
                    suggestion_table.c.conversation_id == conversation_id,
                    suggestion_table.c.outcome == Outcome.SHOWN.value,
                )
                .values(outcome=Outcome.IGNORED.value, decided_at=utcnow())
            )

    async def outcomes(self, conversation_id: str) -> list[dict[str, Any]]:
        query = (
            select(
                suggestion_table.c.id,
                suggestion_table.c.text,
                suggestion_table.c.outcome,
                suggestion_table.c.final_text,
                suggestion_table.c.similarity,
            )
            .where(suggestion_table.c.conversation_id == conversation_id)
            .order_by(suggestion_table.c.id)
        )
        async with self.engine.connect() as conn:
            return [dict(row) for row in (await conn.execute(query)).mappings().all()]
