"""Building a small knowledge base from records in memory, with the real embedding model."""

from __future__ import annotations

from bot.knowledge.embedder import Embedder
from bot.knowledge.engine import KnowledgeBase
from bot.knowledge.models import Entry
from bot.knowledge.passages import passages_of


def build_kb(
    entries: list[Entry], embedder: Embedder, ann_threshold: int = 20_000
) -> KnowledgeBase:
    passages = [p for entry in entries for p in passages_of(entry)]
    vectors = embedder.encode_passages([p.text for p in passages])
    return KnowledgeBase.from_rows(
        entries, passages, vectors, embedder, ann_threshold=ann_threshold
    )
