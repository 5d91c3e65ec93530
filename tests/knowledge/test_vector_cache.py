"""Passage vectors are computed once per machine, not once per store or process."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.knowledge.embedder import Embedder
from bot.knowledge.vector_cache import CachedEmbedder


class CountingEmbedder:
    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.passages_encoded = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.passages_encoded += len(texts)
        return self.inner.encode_passages(texts)


def test_cached_vectors_equal_fresh_ones_and_are_reused(embedder: Embedder, tmp_path: Path) -> None:
    counting = CountingEmbedder(embedder)
    path = tmp_path / "vectors.sqlite"
    texts = ["居民用电停电报修拨打95598", "灵活就业人员可以参加职工养老保险"]
    first = CachedEmbedder(counting, path).encode_passages(texts)
    assert counting.passages_encoded == 2
    # A second process (a new cache object on the same file) embeds only the new text.
    second = CachedEmbedder(counting, path).encode_passages([*texts, "住房公积金提取"])
    assert counting.passages_encoded == 3
    assert np.allclose(first, second[:2])
    assert np.allclose(first, embedder.encode_passages(texts), atol=1e-5)
