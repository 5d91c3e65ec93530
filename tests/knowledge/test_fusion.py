"""The fusion rule and its guard, with a tiny deterministic embedder (unit level only).

The quality of the real model is tested elsewhere; here the dense similarities are chosen
by hand so the test shows exactly what the guard does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pytest
from numpy.typing import NDArray

from bot.knowledge.engine import KnowledgeBase, names_title
from bot.knowledge.index import Mode
from bot.knowledge.models import KnowledgePoint
from bot.knowledge.passages import passages_of

TOPICS = {"heating": 0, "noise": 1, "water": 2}


class TopicEmbedder:
    """Each text points at the topics it names, by keyword; queries likewise."""

    model_id = "topic-test"
    dimension = 3
    WORDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "heating": ("暖气", "供暖", "室温"),
        "noise": ("噪音", "吵"),
        "water": ("停水", "水压"),
    }

    def _encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        vectors = np.full((len(texts), 3), 0.05, dtype=np.float32)
        for i, text in enumerate(texts):
            for topic, words in self.WORDS.items():
                if any(w in text for w in words):
                    vectors[i, TOPICS[topic]] = 1.0
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._encode(texts)


POINTS = [
    KnowledgePoint("heat", "暖气不热怎么办", "室温低于18度可以找供热企业报修。"),
    KnowledgePoint("noise", "邻居噪音太吵", "先协商，再向物业或派出所反映。"),
    KnowledgePoint("water", "突然停水了", "可以拨打供水企业客服电话，了解停水原因和恢复时间。"),
]


def _kb() -> KnowledgeBase:
    embedder = TopicEmbedder()
    passages = [p for point in POINTS for p in passages_of(point)]
    vectors = embedder.encode_passages([p.text for p in passages])
    return KnowledgeBase.from_rows(list(POINTS), passages, vectors, embedder)


def test_an_incidental_shared_word_does_not_outrank_the_meaning() -> None:
    # "电话" occurs only in the water entry; the question is about heating ("供暖").
    kb = _kb()
    bm25_only = kb.rank_entries("供暖的事打什么电话", mode=Mode.BM25)
    assert kb.entries[bm25_only[0].entry].id == "water"
    hybrid = kb.rank_entries("供暖的事打什么电话", mode=Mode.HYBRID)
    assert kb.entries[hybrid[0].entry].id == "heat"
    water = next(r for r in hybrid if kb.entries[r.entry].id == "water")
    assert water.coverage < 0.5


def test_a_query_with_no_word_in_the_corpus_is_ranked_by_meaning_alone() -> None:
    kb = _kb()
    ranked = kb.rank_entries("供暖", mode=Mode.HYBRID)
    assert kb.index.bm25.known(["供暖"]) == []
    assert kb.entries[ranked[0].entry].id == "heat"
    assert ranked[0].bm25 == 0.0 and ranked[0].coverage == 0.0


def test_words_that_match_fully_add_to_the_dense_score() -> None:
    kb = _kb()
    ranked = kb.rank_entries("邻居噪音", mode=Mode.HYBRID)
    top = ranked[0]
    assert kb.entries[top.entry].id == "noise"
    assert top.coverage == 1.0
    assert top.fused > ranked[1].fused


def test_confidence_never_rises_down_the_ranking_in_any_mode() -> None:
    # In BM25 mode "电话电话" puts the water entry first, yet the heating entry below it has
    # the better hybrid evidence: it must still not look surer than the hit ranked above it.
    kb = _kb()
    assert [h.entry.id for h in kb.search("室温电话电话", mode=Mode.BM25).hits] == ["water", "heat"]
    for mode in Mode:
        hits = kb.search("室温电话电话", mode=mode).hits
        confidences = [h.confidence for h in hits]
        assert confidences == sorted(confidences, reverse=True), (mode, confidences)


def test_confidence_does_not_depend_on_the_next_hit() -> None:
    # A second entry just as good as the first must not make the first look unsure (the
    # margin-based confidence gave the first 0.92 and the second 1.00).
    kb = _kb()
    alone = kb.search("邻居噪音太吵", mode=Mode.HYBRID).hits[0]
    twin = KnowledgePoint("noise-2", "邻居噪音", "先协商，再向物业或派出所反映噪音。")
    embedder = TopicEmbedder()
    points = [*POINTS, twin]
    passages = [p for point in points for p in passages_of(point)]
    vectors = embedder.encode_passages([p.text for p in passages])
    crowded = KnowledgeBase.from_rows(points, passages, vectors, embedder)
    hits = crowded.search("邻居噪音太吵", mode=Mode.HYBRID).hits
    assert {h.entry.id for h in hits[:2]} == {"noise", "noise-2"}
    assert hits[0].confidence >= hits[1].confidence
    assert hits[0].confidence >= alone.confidence - 0.05


@pytest.mark.parametrize(
    ("query", "title", "named"),
    [
        ("电动自行车的安全技术规范国家标准是哪个", "电动自行车安全技术规范", True),
        ("《生活饮用水卫生标准》", "生活饮用水卫生标准", True),
        ("我家楼下停水三天了物业也不管到底找谁", "停水", False),
        ("电动自行车充电的安全技术规范有哪些要求和处罚", "安全技术规范", False),
    ],
)
def test_a_question_names_a_title_only_when_the_title_is_most_of_it(
    query: str, title: str, named: bool
) -> None:
    assert names_title(query, title) is named


def test_a_hit_whose_title_the_question_names_is_exact_and_first() -> None:
    kb = _kb()
    hits = kb.search("突然停水了", mode=Mode.HYBRID).hits
    assert hits[0].entry.id == "water" and hits[0].exact and hits[0].confidence == 1.0
    assert all(not h.exact for h in hits[1:])
