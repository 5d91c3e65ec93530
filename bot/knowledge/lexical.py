"""BM25 over jieba tokens (bm25s): the half of search that finds exact words and names.

Each passage's tokens are kept as vocabulary ids, in memory and beside the saved index, so
the index rebuilt after a publish tokenises only the passages whose text changed: jieba
is nearly all of a build (≈ 6 s for 10,000 catalogue passages on a busy 2-core machine,
against 0.6 s for bm25s on the ids).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import bm25s
import numpy as np
import scipy.sparse
from numpy.typing import NDArray

logging.getLogger("bm25s").setLevel(logging.WARNING)

TokenIds = NDArray[np.int32]
_IDS_FILE = "token_ids.npz"


def token_ids(tokens: Iterable[str], vocab: dict[str, int]) -> TokenIds:
    """``tokens`` as ids of ``vocab``, which grows by the new ones ("" for an empty text)."""
    ids = [vocab.setdefault(token, len(vocab)) for token in tokens if token]
    return np.asarray(ids or [vocab.setdefault("", len(vocab))], dtype=np.int32)


class Bm25Index:
    def __init__(self, retriever: bm25s.BM25, doc_ids: list[TokenIds] | None) -> None:
        self._retriever = retriever
        self._vocab: dict[str, int] = retriever.vocab_dict
        self.doc_ids = doc_ids  # None for an index saved before ids were kept
        self.size = int(retriever.scores["num_docs"])
        matrix = retriever.scores
        self._data, self._indptr = matrix["data"], matrix["indptr"]
        # Each token's postings sorted by row, as a canonical CSC matrix keeps them: the
        # coverage check is then a binary search among ~100 candidates, not a set operation
        # over posting lists that reach tens of thousands of rows at 100k passages.
        if not scipy.sparse.csc_matrix(
            (self._data, matrix["indices"], self._indptr), shape=(self.size, len(self._indptr) - 1)
        ).has_sorted_indices:
            raise ValueError("bm25s returned unsorted posting lists")
        self._indices = matrix["indices"]

    @classmethod
    def build(cls, token_lists: Sequence[list[str]]) -> Bm25Index:
        vocab: dict[str, int] = {"": 0}
        return cls.from_ids([token_ids(tokens, vocab) for tokens in token_lists], vocab)

    @classmethod
    def from_ids(cls, doc_ids: list[TokenIds], vocab: dict[str, int]) -> Bm25Index:
        """An index over passages already tokenised; ``vocab`` becomes this index's own."""
        retriever = bm25s.BM25()
        retriever.index((doc_ids, vocab), show_progress=False)
        return cls(retriever, doc_ids)

    @classmethod
    def load(cls, folder: Path, size: int) -> Bm25Index:
        retriever = bm25s.BM25.load(str(folder), show_progress=False)
        if int(retriever.scores["num_docs"]) != size:
            raise ValueError(f"the saved index has {retriever.scores['num_docs']} passages")
        doc_ids = None
        if (folder / _IDS_FILE).exists():
            with np.load(folder / _IDS_FILE) as saved:
                ends = saved["ends"]
                doc_ids = np.split(saved["flat"], ends[:-1]) if len(ends) else []
        return cls(retriever, doc_ids)

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder), show_progress=False)
        if self.doc_ids is not None:
            ends = np.cumsum([len(ids) for ids in self.doc_ids])
            flat = np.concatenate(self.doc_ids) if self.doc_ids else np.zeros(0, np.int32)
            np.savez(folder / _IDS_FILE, flat=flat, ends=ends)

    def reusable(self, text_hashes: Sequence[str]) -> tuple[Mapping[str, TokenIds], dict[str, int]]:
        """For a rebuild: this index's token ids by passage text hash (``text_hashes`` in row
        order), and a copy of its vocabulary to extend (the copy: this index keeps serving
        while the next one is built)."""
        if self.doc_ids is None:
            return {}, {"": 0}
        return dict(zip(text_hashes, self.doc_ids, strict=True)), dict(self._vocab)

    def known(self, query_tokens: Sequence[str]) -> list[str]:
        """The query tokens that occur somewhere in the corpus."""
        return [t for t in query_tokens if t and t in self._vocab]

    def postings(self, token: str) -> NDArray[np.int32]:
        """Rows of the passages that contain ``token``, ascending (empty when it occurs nowhere)."""
        token_id = self._vocab.get(token)
        if token_id is None or not token:
            return np.zeros(0, dtype=np.int32)
        return self._indices[self._indptr[token_id] : self._indptr[token_id + 1]]  # type: ignore[no-any-return]

    def contains(self, token: str, rows: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Whether each of ``rows`` contains ``token``."""
        postings = self.postings(token)
        if not len(postings):
            return np.zeros(len(rows), dtype=bool)
        at = np.minimum(np.searchsorted(postings, rows), len(postings) - 1)
        return postings[at] == rows  # type: ignore[no-any-return]

    def scores(self, query_tokens: Sequence[str]) -> NDArray[np.float32]:
        """BM25 score of every passage; all zeros when no query word occurs in the corpus.

        Summed here rather than by bm25s, whose ``np.add.at`` is built for repeated rows:
        a token's postings hold each row once, so plain fancy-index addition is exact and
        several times faster over the long posting lists of a 100k corpus.
        """
        scores = np.zeros(self.size, dtype=np.float32)
        for token in self.known(query_tokens):
            token_id = self._vocab[token]
            start, end = self._indptr[token_id], self._indptr[token_id + 1]
            scores[self._indices[start:end]] += self._data[start:end]
        return scores
