"""Corrected messages as Rasa NLU training data (YAML), ready to drop into ``data/nlu/``.

Personal data never reaches training data: each part of a message (plain text and entity
text alike) is masked separately, so entity annotations still line up, and the mask's
stars are filled with zeros (13800005678) or a single 1 in addresses (经十路1号) so that
the example keeps the shape the regex features and extractors learn from. Square and
curly brackets in plain text would read as entity markup, so they become full-width.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import utcnow
from bot.console.masking import synthetic
from bot.console.queries import Correction, correction_from_row
from bot.console.tables import nlu_correction_table
from bot.privacy import Span, find_personal_data

_MARKUP = str.maketrans({"[": "［", "]": "］", "{": "｛", "}": "｝", "\n": " ", "\r": " "})
_NUMERALS = re.compile(r"[0-9一二三四五六七八九十百零〇两]")
_LEFTOVER_STARS = re.compile(r"(?<=\d)\*+|\*+(?=\d)")  # already masked (anonymised) numbers


def training_safe(text: str) -> str:
    """Masks personal data with training-friendly fillers and neutralises entity markup."""
    return _safe_segment(text, 0, len(text), find_personal_data(text))


def _safe_segment(text: str, start: int, end: int, spans: list[Span]) -> str:
    """``text[start:end]`` made safe, with spans found in the *whole* text.

    A span inside the segment is replaced by its filler; a span crossing the segment's edge
    (an address whose road name is an annotated entity: [经十路](location)12345号) has
    every numeral in its part zeroed, so nothing of it survives on either side.
    """
    parts: list[str] = []
    position = start
    for span in spans:
        if span.end <= start or span.start >= end:
            continue
        left, right = max(span.start, start), min(span.end, end)
        parts.append(text[position:left])
        if span.start >= start and span.end <= end:
            parts.append(synthetic(span))
        else:
            parts.append(_NUMERALS.sub("0", text[left:right]))
        position = right
    parts.append(text[position:end])
    joined = _LEFTOVER_STARS.sub(lambda m: "0" * len(m.group()), "".join(parts))
    return joined.translate(_MARKUP)


def annotate(text: str, entities: Iterable[dict[str, Any]]) -> str:
    """``text`` with Rasa entity markup: [words](entity) or [words]{"entity":…,"value":…}."""
    spans = find_personal_data(text)
    out: list[str] = []
    position = 0
    for entity in sorted(entities, key=lambda e: int(e["start"])):
        start, end = int(entity["start"]), int(entity["end"])
        out.append(_safe_segment(text, position, start, spans))
        words = _safe_segment(text, start, end, spans)
        value = entity.get("value")
        if value is not None and training_safe(str(value)) != words:
            payload = json.dumps(
                {"entity": entity["entity"], "value": training_safe(str(value))},
                ensure_ascii=False,
            )
            out.append(f"[{words}]{payload}")
        else:
            out.append(f"[{words}]({entity['entity']})")
        position = end
    out.append(_safe_segment(text, position, len(text), spans))
    return re.sub(r"\s+", " ", "".join(out)).strip()


def to_yaml(corrections: Iterable[Correction]) -> str:
    """One ``- intent:`` block per intent; the newest correction of the same words wins."""
    chosen: dict[str, tuple[str, str]] = {}  # plain text -> (intent, annotated example)
    for c in sorted(corrections, key=lambda c: (c.corrected_at, c.id)):
        example = annotate(c.text, c.entities)
        if example:
            chosen[training_safe(c.text).strip()] = (c.intent, example)
    by_intent: dict[str, list[str]] = {}
    for intent, example in chosen.values():
        by_intent.setdefault(intent, []).append(example)
    lines = [
        'version: "3.1"',
        "# Corrected by supervisors in the 12345 console; personal data masked.",
        "nlu:",
    ]
    for intent in sorted(by_intent):
        lines.append(f"  - intent: {intent}")
        lines.append("    examples: |")
        lines.extend(f"      - {example}" for example in by_intent[intent])
    return "\n".join(lines) + "\n"


async def load_corrections(engine: AsyncEngine, *, only_new: bool = False) -> list[Correction]:
    query = select(nlu_correction_table).order_by(nlu_correction_table.c.id)
    if only_new:
        query = query.where(nlu_correction_table.c.exported_at.is_(None))
    async with engine.connect() as conn:
        return [correction_from_row(row) for row in (await conn.execute(query)).all()]


async def mark_exported(engine: AsyncEngine, ids: list[int]) -> None:
    if not ids:
        return
    async with engine.begin() as conn:
        await conn.execute(
            update(nlu_correction_table)
            .where(nlu_correction_table.c.id.in_(ids))
            .values(exported_at=utcnow())
        )
