"""The review workflow: tags, flags, comments, "reviewed", NLU and routing corrections.

A correction says what a citizen message *should* have been understood as: an intent
from the domain and entities whose text occurs in the message. Checking both against
``domain.yml`` here means the exported training data never names an intent or entity
Rasa does not know.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import utcnow
from bot.console.masking import synthetic
from bot.console.tables import (
    conversation_note_table,
    conversation_table,
    conversation_tag_table,
    nlu_correction_table,
)
from bot.conversation.transcript import transcript_table
from bot.privacy import Span, find_personal_data
from bot.routing.feedback import record_correction
from bot.settings import PROJECT_ROOT
from bot.storage import dialect_insert

MAX_TAG_CHARS = 32
MAX_NOTE_CHARS = 2000
_TAG = re.compile(r"^[\w\u4e00-\u9fff\-·]{1,32}$")


class ReviewError(ValueError):
    """The request cannot be applied; the message is shown to the reviewer."""


@dataclass(frozen=True)
class Vocabulary:
    """The names Rasa knows (``domain.yml``): what a correction may use, what the console
    labels, and the forms whose turns are not failures."""

    intents: tuple[str, ...]
    entities: tuple[str, ...]
    slots: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()  # custom actions and responses

    @classmethod
    def load(cls, domain_path: Path) -> Vocabulary:
        data = yaml.safe_load(domain_path.read_text(encoding="utf-8")) or {}
        intents, entities, slots, forms, actions, responses = (
            tuple(_names(data.get(key)))
            for key in ("intents", "entities", "slots", "forms", "actions", "responses")
        )
        return cls(intents, entities, slots, forms, actions + responses)


def _names(items: Any) -> list[str]:
    names: list[str] = []
    for item in items or []:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict):
            names.extend(str(k) for k in item)
    return names


@cache
def project_vocabulary() -> Vocabulary:
    return Vocabulary.load(PROJECT_ROOT / "domain.yml")


@dataclass(frozen=True)
class EntityInput:
    entity: str
    text: str  # the words in the message
    value: str | None = None  # the canonical value when it differs from the words


def locate(text: str, words: str) -> tuple[int, int] | None:
    """Where ``words`` are in ``text``, also when copied from the masked view.

    A reviewer without the unmask permission sees 138****5678, and copying it yields the
    synthetic 13800005678 (``bot.console.masking``); either is found in the same rendering
    of the message and mapped back to the real characters, so the correction still
    annotates the citizen's actual words.
    """
    start = text.find(words)
    if start >= 0:
        return start, start + len(words)
    spans = find_personal_data(text)
    for render in (_as_masked, synthetic):
        found = _locate_rendered(text, words, spans, render)
        if found is not None:
            return found
    return None


def _as_masked(span: Span) -> str:
    return span.masked


def _locate_rendered(
    text: str, words: str, spans: list[Span], render: Callable[[Span], str]
) -> tuple[int, int] | None:
    pieces: list[tuple[int, int, int, int]] = []  # rendered start/end -> raw start/end
    rendered: list[str] = []
    raw_pos = shown_pos = 0
    for span in [*spans, Span(len(text), len(text), "", "")]:
        for offset in range(span.start - raw_pos):
            at = (shown_pos + offset, raw_pos + offset)
            pieces.append((at[0], at[0] + 1, at[1], at[1] + 1))
        rendered.append(text[raw_pos : span.start])
        shown_pos += span.start - raw_pos
        shown = render(span)
        if shown:
            pieces.append((shown_pos, shown_pos + len(shown), span.start, span.end))
            rendered.append(shown)
            shown_pos += len(shown)
        raw_pos = span.end
    found = "".join(rendered).find(words)
    if found < 0:
        return None
    end = found + len(words)
    covering = [p for p in pieces if p[0] < end and p[1] > found]
    return covering[0][2], covering[-1][3]


def normalise_tag(tag: str) -> str:
    cleaned = tag.strip()
    if not _TAG.match(cleaned):
        raise ReviewError("标签应为 1 到 32 个汉字、字母、数字或连字符，不能包含空格和符号。")
    return cleaned


class Review:
    def __init__(self, engine: AsyncEngine, vocabulary: Vocabulary) -> None:
        self.engine = engine
        self.vocabulary = vocabulary

    async def _require(self, seq: int) -> None:
        async with self.engine.connect() as conn:
            found = await conn.scalar(
                select(conversation_table.c.seq).where(conversation_table.c.seq == seq)
            )
        if found is None:
            raise ReviewError("会话不存在或已被删除。")

    async def add_tag(self, seq: int, tag: str, user: str) -> str:
        clean = normalise_tag(tag)
        await self._require(seq)
        async with self.engine.begin() as conn:
            await conn.execute(
                dialect_insert(self.engine.dialect.name)(conversation_tag_table)
                .values(tag=clean, seq=seq, created_by=user, created_at=utcnow())
                .on_conflict_do_nothing()
            )
        return clean

    async def remove_tag(self, seq: int, tag: str) -> None:
        t = conversation_tag_table.c
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(conversation_tag_table).where(t.seq == seq, t.tag == tag.strip())
            )

    async def add_note(
        self, seq: int, body: str, user: str, transcript_id: int | None = None
    ) -> None:
        text = body.strip()
        if not text:
            raise ReviewError("评论内容不能为空。")
        if len(text) > MAX_NOTE_CHARS:
            raise ReviewError(f"评论最多 {MAX_NOTE_CHARS} 个字。")
        await self._require(seq)
        async with self.engine.begin() as conn:
            await conn.execute(
                conversation_note_table.insert().values(
                    seq=seq,
                    transcript_id=transcript_id,
                    author=user,
                    body=text,
                    created_at=utcnow(),
                )
            )

    async def set_reviewed(self, seq: int, reviewed: bool, user: str) -> None:
        await self._require(seq)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(conversation_table)
                .where(conversation_table.c.seq == seq)
                .values(
                    reviewed=reviewed,
                    reviewed_by=user if reviewed else None,
                    reviewed_at=utcnow() if reviewed else None,
                )
            )

    async def set_flagged(self, seq: int, flagged: bool) -> None:
        await self._require(seq)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(conversation_table)
                .where(conversation_table.c.seq == seq)
                .values(flagged=flagged)
            )

    async def correct(
        self, transcript_id: int, intent: str, entities: list[EntityInput], user: str
    ) -> int:
        """Records the right intent and entities for one citizen message; returns its seq."""
        if intent not in self.vocabulary.intents:
            raise ReviewError(f"意图“{intent}”不在 domain.yml 中，请从列表中选择。")
        row = await self._citizen_message(transcript_id, "意图")
        text = str(row.text)
        stored = sorted((self._entity(text, e) for e in entities), key=lambda e: e["start"])
        for before, after in itertools.pairwise(stored):
            if after["start"] < before["end"]:
                raise ReviewError("两个实体的原文不能重叠。")
        nlu = (row.data or {}).get("nlu") or {}
        confidence = nlu.get("confidence")
        values = {
            "seq": row.seq,
            "text": text,
            "predicted_intent": nlu.get("intent"),
            "predicted_confidence": float(confidence)
            if isinstance(confidence, int | float)
            else None,
            "intent": intent,
            "entities": stored,
            "corrected_by": user,
            "corrected_at": utcnow(),
            "exported_at": None,
        }
        statement = dialect_insert(self.engine.dialect.name)(nlu_correction_table).values(
            transcript_id=transcript_id, **values
        )
        async with self.engine.begin() as conn:
            await conn.execute(
                statement.on_conflict_do_update(index_elements=["transcript_id"], set_=values)
            )
        return int(row.seq)

    async def correct_routing(
        self,
        transcript_id: int,
        request_type: str | None,
        department: str | None,
        user: str,
    ) -> int:
        """Records the right request type and/or handling unit of one citizen message (checked
        against the catalogue by the caller); returns its seq. ``routing export-training``
        turns it into a training row."""
        row = await self._citizen_message(transcript_id, "诉求类型和承办单位")
        await record_correction(
            self.engine,
            str(row.text),
            user,
            request_type=request_type,
            department=department,
            transcript_id=transcript_id,
        )
        return int(row.seq)

    async def _citizen_message(self, transcript_id: int, what: str) -> Any:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        transcript_table.c.text,
                        transcript_table.c.role,
                        transcript_table.c.data,
                        conversation_table.c.seq,
                    )
                    .join(
                        conversation_table,
                        conversation_table.c.conversation_id == transcript_table.c.conversation_id,
                    )
                    .where(transcript_table.c.id == transcript_id)
                )
            ).first()
        if row is None:
            raise ReviewError("消息不存在或已被删除。")
        if row.role != "citizen":
            raise ReviewError(f"只能修正市民消息的{what}。")
        return row

    def _entity(self, text: str, entity: EntityInput) -> dict[str, Any]:
        if entity.entity not in self.vocabulary.entities:
            raise ReviewError(f"实体类型“{entity.entity}”不在 domain.yml 中。")
        words = entity.text.strip()
        found = locate(text, words) if words else None
        if found is None:
            raise ReviewError(f"实体原文“{words}”没有出现在这条消息中，请从消息中复制。")
        start, end = found
        stored: dict[str, Any] = {
            "entity": entity.entity,
            "start": start,
            "end": end,
            "text": text[start:end],
        }
        if entity.value and entity.value.strip() and entity.value.strip() != words:
            stored["value"] = entity.value.strip()
        return stored

    async def remove_correction(self, transcript_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(nlu_correction_table).where(
                    nlu_correction_table.c.transcript_id == transcript_id
                )
            )
