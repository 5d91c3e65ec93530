"""BM25 over jieba tokens (bm25s): the half of search that finds exact words and names."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
from numpy.typing import NDArray

logging.getLogger("bm25s").setLevel(logging.WARNING)


class Bm25Index:
    def __init__(self, retriever: bm25s.BM25, size: int) -> None:
        self._retriever = retriever
        self._vocab: dict[str, int] = retriever.vocab_dict
        self.size = size

    @classmethod
    def build(cls, token_lists: Sequence[list[str]]) -> Bm25Index:
        retriever = bm25s.BM25()
        retriever.index([tokens or [""] for tokens in token_lists], show_progress=False)
        return cls(retriever, len(token_lists))

    @classmethod
    def load(cls, folder: Path, size: int) -> Bm25Index:
        retriever = bm25s.BM25.load(str(folder), show_progress=False)
        return cls(retriever, size)

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder), show_progress=False)

    def known(self, query_tokens: Sequence[str]) -> list[str]:
        """The query tokens that occur somewhere in the corpus."""
        return [t for t in query_tokens if t and t in self._vocab]

    def postings(self, token: str) -> NDArray[np.int64]:
        """Rows of the passages that contain ``token`` (empty when it occurs nowhere)."""
        token_id = self._vocab.get(token)
        if token_id is None or not token:
            return np.zeros(0, dtype=np.int64)
        indptr = self._retriever.scores["indptr"]
        indices = self._retriever.scores["indices"]
        return np.asarray(indices[indptr[token_id] : indptr[token_id + 1]], dtype=np.int64)

    def scores(self, query_tokens: Sequence[str]) -> NDArray[np.float32]:
        """BM25 score of every passage; all zeros when no query word occurs in the corpus."""
        known = self.known(query_tokens)
        if not known or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        ids = [self._vocab[t] for t in known]
        return np.asarray(self._retriever.get_scores_from_ids(ids), dtype=np.float32)
