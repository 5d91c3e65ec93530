"""How an entry becomes indexed passages.

Every passage repeats its entry's title (and a standard's number), because a clause deep in
a document ("4.2 受理时限") means nothing to BM25 or the embedding model without it.
"""

from __future__ import annotations

from bot.knowledge.models import Entry, KnowledgePoint, Passage, Section, Standard
from bot.knowledge.text import chunk

MAX_PASSAGE_CHARS = 400


def passages_of(entry: Entry) -> list[Passage]:
    if isinstance(entry, Standard):
        return _standard_passages(entry)
    return _knowledge_passages(entry)


def _standard_passages(standard: Standard) -> list[Passage]:
    head = f"{standard.number} {standard.title}"
    summary = " ".join(
        part
        for part in (standard.title_en, standard.standard_type, standard.issuer, standard.scope)
        if part
    )
    bodies: list[tuple[str, str]] = [("", summary)]
    bodies += _section_bodies(standard.sections)
    return _build(standard.id, head, bodies)


def _knowledge_passages(point: KnowledgePoint) -> list[Passage]:
    head = point.title
    if point.sections:
        bodies = _section_bodies(point.sections)
    else:
        bodies = [(point.title, piece) for piece in chunk(point.content, MAX_PASSAGE_CHARS)]
    if point.keywords and bodies:
        heading, body = bodies[0]
        bodies[0] = (heading, f"{body}\n关键字：{'、'.join(point.keywords)}")
    return _build(point.id, head, bodies or [(point.title, point.title)])


def _section_bodies(sections: tuple[Section, ...]) -> list[tuple[str, str]]:
    bodies: list[tuple[str, str]] = []
    for section in sections:
        for piece in chunk(section.text, MAX_PASSAGE_CHARS):
            bodies.append((section.heading, piece))
    return bodies


def _build(entry_id: str, head: str, bodies: list[tuple[str, str]]) -> list[Passage]:
    passages = []
    for ordinal, (heading, body) in enumerate(bodies):
        parts = [head] if head else []
        if heading and heading != head and heading not in body:
            parts.append(heading)
        if body:
            parts.append(body)
        passages.append(Passage(entry_id, ordinal, heading, body, "\n".join(parts)))
    return passages
